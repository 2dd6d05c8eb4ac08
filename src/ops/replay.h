// Replay: applies journal changesets to a copy of the store taken earlier (a base backup), to bring it to a later
// commit — the core of point-in-time restore.
//
// Each change is applied by primary key with statements prepared once per table and shape: an insert must not
// find its row, a delete and an update must find it exactly as the change's old values say (every column an
// update names). Anything else means the copy is not the state the journal continues from — a write that bypassed
// the journal, the wrong base — and the replay stops with kCorruption naming the entry and the row, rather than
// produce a store that never existed. Derived tables are not touched: the caller rebuilds them afterwards.
//
// The connection must have foreign keys off (a changeset lists cascaded rows itself) and triggers off (convstore's
// connections run none). Not thread-safe: one replay per connection, on the thread holding it; owns its statements.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "ops/changeset.h"
#include "sqlite/connection.h"

namespace convstore::ops {

class Replayer {
 public:
  explicit Replayer(sqlite::Connection& conn) : conn_(conn) {}
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // Applies one entry's changes (in the caller's transaction). `seq` names the entry in errors.
  Status Apply(int64_t seq, std::string_view changeset);
  int64_t changes_applied() const { return applied_; }

 private:
  struct Table {
    std::vector<std::string> columns;
    std::vector<bool> pk;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* remove = nullptr;  // by key and every old value
    std::map<std::vector<bool>, sqlite3_stmt*> updates;  // by the columns an update sets
  };
  Result<Table*> TableFor(std::string_view name, const std::vector<bool>& pk);
  Status ApplyOne(int64_t seq, const Change& c);
  Status Step(sqlite3_stmt* st, int64_t seq, const Change& c, const char* what);

  sqlite::Connection& conn_;
  std::map<std::string, Table, std::less<>> tables_;
  int64_t applied_ = 0;
};

}  // namespace convstore::ops
