// Applies change-journal entries of one store to PostgreSQL: each entry's row changes become INSERT, UPDATE and
// DELETE statements on the mapped tables (table_map.h), and the store's position in convstore_stores moves to the
// last entry applied — all in one PostgreSQL transaction, so a crash on either side at any moment leaves the
// position and the rows in agreement: nothing is lost and nothing is applied twice.
//
// A change PostgreSQL refuses (a value it cannot take, a missing parent row, a duplicate key, an exception from a
// trigger added there: SQLSTATE classes 22, 23, 44 and P0), or a value that does not convert, goes to convstore_dead_letters with the reason, and the rest of the
// batch applies: the batch runs first without savepoints and, only when a change is refused, again with a
// savepoint around each change. Any other failure (connection lost, a privilege, a deadlock) rolls the batch back
// and is returned: the next attempt starts from the same position.
//
// Not thread-safe: one Applier per sync, used by one thread at a time, over its own connection.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "convstore/status.h"
#include "sqlite/connection.h"
#include "sqlite/value.h"
#include "sync/pg_connection.h"

namespace convstore::sync {

// SQLite's codes for a change's operation (as in a changeset).
inline constexpr int kOpInsert = 18, kOpUpdate = 23, kOpDelete = 9;

struct RowChange {
  std::string table;                   // the SQLite table
  int op = kOpInsert;
  std::vector<sqlite::Value> before;   // delete: the row; update: the key and the changed columns' old values
  std::vector<sqlite::Value> after;    // insert: the row; update: the changed columns' new values (others undefined)
};

struct SourceEntry {
  int64_t seq = 0;
  int64_t committed_at = 0;  // µs
  int schema_version = 0;
  std::vector<RowChange> changes;
};

// The source tables' column names in order (a changeset's record has the first N of them).
using SourceColumns = std::unordered_map<std::string, std::vector<std::string>>;
Result<SourceColumns> ReadSourceColumns(sqlite::Connection& conn);

struct ApplyCounts {
  int64_t entries = 0;
  int64_t changes = 0;
  int64_t dead_letters = 0;
};

class Applier {
 public:
  Applier(PgConnection& pg, std::string schema, std::string store_id);

  // Applies `entries` (consecutive, following the store's position `from_seq`) and moves the position to the last
  // one, in one transaction. kConflict when PostgreSQL's position is not `from_seq` (another sync moved it).
  Result<ApplyCounts> Apply(const SourceColumns& columns, const std::vector<SourceEntry>& entries, int64_t from_seq);

  // Applies the changes of `entry` inside the caller's transaction, each under a savepoint, refusals to the dead
  // letters; the position is left alone (the initial load's fallback for rows COPY refused). The partitions its
  // rows need must exist (EnsureMonths).
  Result<ApplyCounts> ApplyInTransaction(const SourceColumns& columns, const SourceEntry& entry);

  // Sets the counters of conversations (message_count, next_position, the token totals, cost_nanousd,
  // updated_at) as the store reads them: the stored ones (src_*) plus the conversation's messages at or past the
  // stored next_position. `src_ids` names the conversations by source row id; nullptr: every conversation of the
  // store. Runs in the caller's transaction.
  Status RecountConversations(const std::vector<int64_t>* src_ids);

  // Creates the partitions of PostgreSQL table `table` (api_usage, metrics) for these months (month starts, µs)
  // that do not exist, each in its own short transaction (not inside another).
  Status EnsureMonths(std::string_view table, const std::set<int64_t>& month_starts);

 private:
  struct Outcome {
    bool dead = false;       // refused: record a dead letter
    std::string reason;
    std::string sqlstate;
  };
  Status EnsurePartitions(const SourceColumns& columns, const std::vector<SourceEntry>& entries);
  Status Attempt(const SourceColumns& columns, const std::vector<SourceEntry>& entries, int64_t from_seq,
                 bool savepoints, ApplyCounts* counts, bool* refused);
  // Runs one change; a refusal is an Outcome (dead), anything else a failed Status.
  Result<Outcome> ApplyChange(const std::vector<std::string>& names, const RowChange& change);
  Status RecordDeadLetter(const SourceEntry& entry, const RowChange& change, const std::vector<std::string>& names,
                          const Outcome& outcome);

  PgConnection& pg_;
  const std::string schema_;     // the schema's name
  const std::string q_;          // ... quoted
  const std::string store_id_;
  std::set<std::pair<std::string, int64_t>> months_;  // partitions known to exist (table, month start)
};

// Whether a failed statement's SQLSTATE means PostgreSQL refuses the row (classes 22, 23, 44 and P0).
bool IsRowRefusal(const std::string& sqlstate);

// A change as JSON (dead letters, messages): {"op": ..., "before": {column: value}, "after": {...}}.
std::string ChangeJson(const RowChange& change, const std::vector<std::string>& names);

}  // namespace convstore::sync
