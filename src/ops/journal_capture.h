// JournalCapture: records each write transaction's row changes in the change journal, inside that transaction.
//
// It is the TransactionObserver (sqlite/transaction_observer.h) of a store's writer connection. SQLite's
// pre-update hook tells it which rows of the journaled tables (journal_tables.h) a transaction touches; the first
// touch of a row keeps its old values. Just before COMMIT it reads each touched row as it now is and writes the net
// change — insert, update of the columns that differ, or delete; nothing for a row put back as it was, e.g. by a
// rolled-back savepoint of a group commit — as one changeset in SQLite's format (changeset.h), appended to
// change_journal as the next sequence number with the commit time: max(now, the previous entry's time), so times
// never decrease along the sequence whatever the clocks of the processes writing the file. Being in the
// transaction, the entry commits or rolls back with the changes it describes; SQLite's write lock orders entries
// across processes.
//
// Why not sqlite3session: a session object prepares its statements (PRAGMA table_xinfo, a SELECT per table) each
// time it is created, and it must be re-created per transaction to get that transaction's changes alone: 171 µs
// more per commit, against about 1% of a write's time here (docs/benchmarks.md). The output is the same format,
// so SQLite's changeset functions apply it.
//
// Not thread-safe: used under the writer connection's lock. Owns its prepared statements; detaches its hook when
// destroyed (destroy it before the connection).
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "convstore/status.h"
#include "ops/changeset.h"
#include "sqlite/connection.h"
#include "sqlite/transaction_observer.h"

namespace convstore::ops {

class JournalCapture final : public sqlite::TransactionObserver {
 public:
  using Clock = std::function<int64_t()>;  // µs since the epoch

  // Hooks into `conn` (a file at schema version 6 or later) and sets itself as the connection's observer.
  static Result<std::unique_ptr<JournalCapture>> Attach(sqlite::Connection& conn, Clock now);
  ~JournalCapture() override;
  JournalCapture(const JournalCapture&) = delete;
  JournalCapture& operator=(const JournalCapture&) = delete;

  // Records nothing of the current transaction: it switched the journal off (its journal_off marker is the
  // entry that ends the journal, and what it writes after the marker belongs to the unjournaled stretch).
  void SkipThisTransaction() noexcept { active_ = false; }
  // Records the current transaction as an erasure (EntryKind::kErasure) whose entry withholds what it removed: a
  // deleted row's columns other than its key, and an updated row's previous values, are written as NULL. The
  // transaction must be one write alone (never a group: the others' entries would be withheld too).
  void WithholdThisTransaction() noexcept { withhold_ = true; }

  Status Begin(sqlite::Connection& conn) override;
  Status BeforeCommit(sqlite::Connection& conn) override;
  void End() noexcept override;

 private:
  struct Row {
    std::vector<Value> key;     // primary-key values
    bool existed = false;       // the row was there before the transaction touched it
    std::vector<Value> before;  // its values then (when it existed)
  };
  struct Table {
    std::string name;
    std::vector<bool> pk;        // per column
    std::vector<int> pk_columns; // primary-key columns in key order
    bool rowid_key = false;      // the key is the rowid (INTEGER PRIMARY KEY): the hook's rowids tell a moved row
    sqlite3_stmt* select = nullptr;  // the row by primary key, every column in order
    std::unordered_map<std::string, size_t> touched;  // encoded key -> index in rows
    std::vector<Row> rows;
  };

  JournalCapture(sqlite::Connection& conn, Clock now) : conn_(conn), now_(std::move(now)) {}
  Status LoadTables();
  void ClearTables();
  static void Hook(void* self, sqlite3* db, int op, const char* db_name, const char* table, sqlite3_int64 old_rowid,
                   sqlite3_int64 new_rowid);
  void OnChange(int op, const char* table, sqlite3_int64 old_rowid, sqlite3_int64 new_rowid);
  void Touch(Table& t, bool old_image, bool existed);
  Status WriteChanges(ChangesetWriter& out);

  sqlite::Connection& conn_;
  Clock now_;
  std::vector<Table> tables_;
  int64_t schema_cookie_ = -1;  // PRAGMA schema_version when tables_ was loaded
  int64_t schema_version_ = 0;  // convstore's schema version then
  bool active_ = false;         // inside a transaction, with the journal enabled
  bool withhold_ = false;       // this transaction is an erasure: its entry withholds what it removed
  bool touched_any_ = false;
  Status hook_error_;           // the hook cannot return errors (no memory): the commit does
};

}  // namespace convstore::ops
