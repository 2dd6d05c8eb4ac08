// Journal redaction: what an erasure (EraseUser) takes out of the change journal's earlier entries, so that no
// entry still holds the erased person's data.
//
// Rows the erasure deleted are dropped from every change that mentions them (an entry left without changes stays,
// empty: sequence numbers never gap). Rows it kept but stripped — the user's row, now pseudonymous, and audit
// entries whose personal fields it removed — have those columns rewritten in every change, as if they had always
// held the stripped values. Entries are rewritten in place, in the caller's transaction (the erasure's own), so the
// redaction commits or rolls back with the erasure.
//
// After a redaction an entry no longer replays onto a copy taken before it: the erasure's own entry is a marker
// (EntryKind::kErasure), so a replay never crosses it, and the erasure removes the archive's earlier generations.
// Not thread-safe: runs on the connection of the caller's write transaction.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "convstore/status.h"
#include "convstore/types.h"
#include "ops/changeset.h"
#include "sqlite/connection.h"

namespace convstore::ops {

struct JournalRedaction {
  // Table -> integer primary keys of the rows deleted: changes to them are dropped.
  std::map<std::string, std::set<int64_t>> dropped;
  // Table -> integer primary key -> column name -> the value it holds now: applied to every change of that row.
  std::map<std::string, std::map<int64_t, std::map<std::string, Value>>> replaced;

  // Rows the journal shows to be about the person although they are no longer stored (deleted earlier, by the
  // application or by retention): a row of `table` whose `column` holds the key of a row of `parent` that is
  // dropped or replaced (and, with `where_column`, whose `where_column` equals `where_value`) is dropped too.
  // Found from the full row images of inserts and deletes, over the whole redacted range, until nothing new is
  // found.
  struct Ownership {
    std::string table, column, parent;
    std::string where_column{};
    int64_t where_value = 0;
  };
  std::vector<Ownership> owned;
  // Entries of `personal_table` whose `personal_by` columns hold `personal_of` get `personal_values` (the personal
  // fields an erasure removed from those still stored, found here for those retention removed).
  std::string personal_table, personal_of;
  std::vector<std::string> personal_by;
  std::map<std::string, Value> personal_values;

  bool empty() const { return dropped.empty() && replaced.empty(); }
};

struct RedactionReport {
  int64_t entries_read = 0;
  int64_t entries_rewritten = 0;
  int64_t changes_dropped = 0;
  int64_t changes_rewritten = 0;
};

// Rewrites the entries committed at or after `since` (entries before it cannot mention rows created later).
// `redaction` gains the rows found through the journal (Ownership, personal rows).
Result<RedactionReport> RedactJournal(sqlite::Connection& conn, JournalRedaction& redaction, Micros since);

}  // namespace convstore::ops
