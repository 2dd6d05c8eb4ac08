// Which tables the change journal records, and what it knows of each.
//
// The journal records the tables that hold what callers wrote (users, teams, conversations, messages, tool calls,
// message tombstones, API usage, prices, budgets and reservations, meta, schema_migrations, the audit log
// with its state and the users' pseudonymous ids, metrics; a file of an older schema lacks the later ones). Derived tables — the
// cost rollups, totals and pending rows, the metadata index's postings and bookkeeping — are not journaled: after
// a replay they are rebuilt from the recorded tables, the way migrations 2 and 3 build them (which keeps a
// journal entry to the rows a caller changed: one message is one row plus its conversation's counters, not the
// dozen index and rollup rows it also touches). Nor are the journal's own tables.
//
// Thread-safe (constants), but for TableColumns.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::ops {

// The journaled tables, in the order a replay-compatible schema has them.
const std::vector<std::string_view>& JournaledTables();
bool IsJournaled(std::string_view table);

// The column names of tables as they are now (in column order), each table read once. Works on the connection it
// was made with; not thread-safe.
class TableColumns {
 public:
  explicit TableColumns(sqlite::Connection& conn) : conn_(conn) {}
  Result<const std::vector<std::string>*> Of(std::string_view table);
  // The index of `column` in `table` (-1 when it has none).
  Result<int> IndexOf(std::string_view table, std::string_view column);

 private:
  sqlite::Connection& conn_;
  std::map<std::string, std::vector<std::string>, std::less<>> names_;
};

}  // namespace convstore::ops
