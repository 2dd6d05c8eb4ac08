#include "sqlite/connection.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "sqlite/checkpointer.h"
#include "sqlite/error.h"
#include "sqlite/wal_write_gathering.h"
#include "util/fork.h"
#include "util/status_macros.h"

namespace convstore::sqlite {

namespace {

// What SQLite is given for `path`. Debian builds SQLite with SQLITE_USE_URI, so a name starting with "file:"
// would be parsed as a URI (its query parameters obeyed, the data written elsewhere); "./" before a relative path
// keeps it a plain file name without touching the process-wide setting other SQLite users share.
std::string SqliteName(const std::string& path, bool immutable) {
  if (path == ":memory:") return path;
  if (!immutable) return path[0] == '/' ? path : "./" + path;
  // Our own URI, for immutable=1: the path percent-encoded, so none of its characters is read as syntax.
  // "file://" + an absolute path: an empty authority, so a path starting with "//" is not read as a host.
  std::string uri = path[0] == '/' ? "file://" : "file:./";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == '~') {
      uri.push_back(static_cast<char>(c));
    } else {
      uri.push_back('%');
      uri.push_back(kHex[c >> 4]);
      uri.push_back(kHex[c & 0xF]);
    }
  }
  return uri + "?immutable=1";
}

// SQLite's busy timeout, re-done so that the sleeping is parked (util/fork.h): a thread waiting for another
// process's lock holds no SQLite state, and a fork need not wait for it. The same backoff as SQLite's own.
int BusyWait(void* timeout_ms, int count) {
  static constexpr int kDelays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  static constexpr int kTotals[] = {0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228};  // slept before each step
  static constexpr int kLast = sizeof(kDelays) / sizeof(kDelays[0]) - 1;
  const int timeout = *static_cast<const int*>(timeout_ms);
  const int delay = kDelays[count < kLast ? count : kLast];
  const int prior = count < kLast ? kTotals[count] : kTotals[kLast] + kDelays[kLast] * (count - kLast);
  const int sleep = prior + delay > timeout ? timeout - prior : delay;
  if (sleep <= 0) return 0;
  util::ParkedScope waiting;
  std::this_thread::sleep_for(std::chrono::milliseconds(sleep));
  return 1;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, const ConnectionConfig& config) {
  int flags = (config.open_read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_EXRESCODE;
  if (config.create && !config.open_read_only) flags |= SQLITE_OPEN_CREATE;
  if (config.immutable && config.open_read_only) flags |= SQLITE_OPEN_URI;
  sqlite3* db = nullptr;
  const std::string name = SqliteName(path, config.immutable && config.open_read_only);
  // Every connection opens through the WAL write gathering shim: the writer's commits then reach the WAL in one
  // system call each (wal_write_gathering.h); other files and other connections' reads pass through it untouched.
  // An exclusive connection's shim wraps the process-exclusive VFS, which only the shim finds.
  const char* vfs = GatheringVfsName(config.exclusive);
  if (vfs == nullptr && config.exclusive)
    return Status::Unavailable(fmt::format("open '{}' exclusive: SQLite refused the process-exclusive VFS", path));
  int rc = sqlite3_open_v2(name.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    Status s = FromSqlite(rc, db, fmt::format("open '{}'", path));
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  conn->busy_timeout_ms_ = config.busy_timeout_ms;
  sqlite3_busy_handler(db, BusyWait, &conn->busy_timeout_ms_);
  // Refuse writes to sqlite_master and other ways a crafted statement could corrupt the file.
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  // Double-quoted string literals are a classic source of silent bugs; disable them.
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  // Functions and virtual tables are never run from the file's own schema (views, triggers, CHECK or DEFAULT
  // expressions someone else put there) unless marked innocuous; nothing of convstore relies on that.
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  // The file's triggers are not convstore's to run: the only ones it holds are the change journal's, which mark
  // writes made by other programs (src/schema/schema_v6.cc); convstore's own writes are journaled by the writer.
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);

  // secure_delete=ON: deleted and overwritten content is zeroed, in its page and in freed pages, so no stale copy
  // of a deleted row lingers in the file (what an erasure relies on). Debian's SQLite is built with it on by
  // default; set here so every build behaves the same.
  std::string pragmas = fmt::format(
      "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-{}; PRAGMA synchronous={};"
      " PRAGMA secure_delete=ON;",
      config.cache_kib, config.full_sync ? "FULL" : "NORMAL");
  if (config.mmap_bytes > 0) pragmas += fmt::format("PRAGMA mmap_size={};", config.mmap_bytes);
  if (config.read_only) pragmas += "PRAGMA query_only=ON;";
  Status configured = conn->Exec(pragmas, "configure connection");
  // A new file's incremental auto-vacuum is the migrations' choice (schema/migrations.cc), made while the file is
  // still empty; the transaction that takes the exclusive lock below writes page 1 first, which fixes the mode, so
  // an exclusive open makes the same choice before it (SQLite applies it to an empty file only: a no-op otherwise).
  if (configured.ok() && config.exclusive && config.create)
    configured = conn->Exec("PRAGMA auto_vacuum=INCREMENTAL", "set incremental auto-vacuum");
  // The process's lock now (some of the pragmas read the schema, which takes it already), rather than at the first
  // read or write: an open that cannot have the file for this process fails here.
  if (configured.ok() && config.exclusive)
    configured = conn->Exec("BEGIN EXCLUSIVE; COMMIT;", "take the file's exclusive lock");
  if (config.exclusive && configured.code() == Code::kBusy)
    return Status::Busy(fmt::format("'{}' is open elsewhere (another process, or another handle in this one): an "
                                    "exclusive open needs the file to itself; close the others, or open it without "
                                    "exclusive",
                                    path));
  CONVSTORE_RETURN_IF_ERROR(configured);
  return conn;
}

Status Connection::EnableWal() {
  // journal_mode returns a row; read it to confirm WAL took effect.
  auto st = Prepare("PRAGMA journal_mode=WAL");
  if (!st.ok()) return st.status();
  auto row = st->Step("enable WAL");
  if (!row.ok()) return row.status();
  if (!*row || st->Text(0) != "wal") return Status::IoError("could not switch the database to WAL journal mode");
  // Checkpoint every ~16 MiB of WAL instead of SQLite's 4 MiB: fewer, larger checkpoints (each one syncs). The hook
  // replaces SQLite's own automatic checkpoint (sqlite3_wal_autocheckpoint installs the same kind of hook), doing
  // what it does and counting it. Nothing may run PRAGMA wal_autocheckpoint on this connection afterwards: that
  // would install SQLite's hook in place of this one.
  CONVSTORE_RETURN_IF_ERROR(Exec("PRAGMA journal_size_limit=67108864;", "configure WAL"));
  sqlite3_wal_hook(db_, &Connection::AfterWalCommit, this);
  return Status::OK();
}

int Connection::AfterWalCommit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* conn = static_cast<Connection*>(self);
  if (Checkpointer* background = conn->checkpointer_; background != nullptr) {
    background->Committed(frames);
    if (frames < kInlineCheckpointFrames || frames < conn->inline_hold_from_) return SQLITE_OK;
    // The background checkpointer fell behind (a loaded machine, a writer faster than its copies) or readers cut
    // its cycles short: the bound of last resort, a RESTART by the writer itself.
    const bool restarted = conn->RestartHoldingWriter(schema, frames);
    conn->inline_hold_from_ = restarted ? 0 : frames + Checkpointer::kRequestFrames;
    conn->auto_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  if (frames < kAutoCheckpointFrames) return SQLITE_OK;
  // As SQLite's own hook (sqlite3WalDefaultHook): passive, and its result ignored (a busy or failed checkpoint is
  // tried again after the next commit).
  (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  static_cast<Connection*>(self)->auto_checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return SQLITE_OK;
}

bool Connection::RestartHoldingWriter(const char* schema, int frames) {
  const int saved_timeout = busy_timeout_ms_;
  busy_timeout_ms_ = 0;  // each try returns at once (RestartCheckpoint waits between them)
  bool restarted = false;
  // A failure other than a reader (an I/O error) is left to the next commit past the threshold.
  (void)RestartCheckpoint(db_, schema, std::chrono::milliseconds(Checkpointer::ReaderWaitMs(frames)), &restarted);
  busy_timeout_ms_ = saved_timeout;
  return restarted;
}

CacheUse Connection::TakeCacheUse() noexcept {
  CacheUse use;
  int current = 0, high = 0;
  if (sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_HIT, &current, &high, 1) == SQLITE_OK) use.hits = current;
  if (sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_MISS, &current, &high, 1) == SQLITE_OK) use.misses = current;
  if (sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_WRITE, &current, &high, 1) == SQLITE_OK) use.writes = current;
  return use;
}

Result<std::vector<std::string>> Connection::TablesReadBy(const std::string& sql) {
  std::vector<std::string> tables;
  auto collect = [](void* out, int action, const char* table, const char*, const char*, const char*) -> int {
    if (action == SQLITE_READ && table != nullptr) {
      auto& v = *static_cast<std::vector<std::string>*>(out);
      if (std::find(v.begin(), v.end(), table) == v.end()) v.emplace_back(table);
    }
    return SQLITE_OK;
  };
  sqlite3_set_authorizer(db_, collect, &tables);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  sqlite3_set_authorizer(db_, nullptr, nullptr);
  Status s = rc == SQLITE_OK ? Status::OK() : FromSqlite(rc, db_, "prepare to inspect");
  sqlite3_finalize(stmt);
  if (!s.ok()) return s;
  return tables;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::Exec(std::string_view sql, std::string_view context) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::OK();
  Status s(CodeForSqlite(rc), fmt::format("{}: {} (sqlite code {})", context, err ? err : sqlite3_errstr(rc), rc));
  sqlite3_free(err);
  return s;
}

Result<Stmt> Connection::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Stmt(it->second, db_);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  // convstore's statements are fixed and tested: one that no longer prepares ("no such table", "no such column")
  // means the file's schema was changed under the open store.
  if ((rc & 0xFF) == SQLITE_ERROR)
    return Status::Corruption(fmt::format("the file's schema does not match convstore's: {} (preparing `{}`)",
                                          sqlite3_errmsg(db_), sql));
  if (rc != SQLITE_OK) return FromSqlite(rc, db_, fmt::format("prepare `{}`", sql));
  cache_.emplace(sql, stmt);
  return Stmt(stmt, db_);
}

Result<std::optional<int64_t>> Connection::QueryIntUncached(const std::string& sql, std::string_view context) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    Status s = FromSqlite(rc, db_, fmt::format("{}: prepare", context));
    sqlite3_finalize(stmt);
    return s;
  }
  rc = sqlite3_step(stmt);
  std::optional<int64_t> value;
  if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) value = sqlite3_column_int64(stmt, 0);
  Status s = rc == SQLITE_ROW || rc == SQLITE_DONE ? Status::OK() : FromSqlite(rc, db_, std::string(context));
  sqlite3_finalize(stmt);
  if (!s.ok()) return s;
  return value;
}

int64_t Connection::changes() const noexcept { return sqlite3_changes64(db_); }
bool Connection::ReadOnlyFile() const noexcept { return sqlite3_db_readonly(db_, "main") == 1; }
int64_t Connection::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }

Result<WriteTransaction> WriteTransaction::Begin(Connection& conn) {
  // A transaction that survived a failed rollback would make every BEGIN fail while it holds the lock.
  conn.EndStrayTransaction();
  auto st = conn.Prepare("BEGIN IMMEDIATE");
  if (!st.ok()) return st.status();
  if (auto s = st->Run("begin write transaction"); !s.ok()) return s;
  WriteTransaction txn(&conn);  // from here on, leaving early rolls back (and ends the observer's transaction)
  if (TransactionObserver* observer = conn.observer(); observer != nullptr)
    if (Status s = observer->Begin(conn); !s.ok()) return s;
  return txn;
}

WriteTransaction::~WriteTransaction() {
  if (conn_ == nullptr) return;
  if (TransactionObserver* observer = conn_->observer(); observer != nullptr) observer->End();
  if (sqlite3_get_autocommit(conn_->raw()) != 0) return;  // nothing left to roll back
  auto st = conn_->Prepare("ROLLBACK");
  if (st.ok() && st->Run("rollback").ok()) return;
  conn_->EndStrayTransaction();  // no statement could be prepared (no memory)
}

Status WriteTransaction::Commit() {
  if (TransactionObserver* observer = conn_->observer(); observer != nullptr)
    CONVSTORE_RETURN_IF_ERROR(observer->BeforeCommit(*conn_));
  auto st = conn_->Prepare("COMMIT");
  if (!st.ok()) return st.status();
  Status s = st->Run("commit");
  if (s.ok()) {
    if (TransactionObserver* observer = conn_->observer(); observer != nullptr) observer->End();
    conn_ = nullptr;  // done; otherwise the destructor rolls back
  }
  return s;
}

void Connection::EndStrayTransaction() noexcept {
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<ReadTransaction> ReadTransaction::Begin(Connection& conn) {
  conn.EndStrayTransaction();
  // Prepare (and cache) the COMMIT first, so ending the transaction never needs memory it may not get.
  if (auto commit = conn.Prepare("COMMIT"); !commit.ok()) return commit.status();
  auto st = conn.Prepare("BEGIN");
  if (!st.ok()) return st.status();
  if (auto s = st->Run("begin read transaction"); !s.ok()) return s;
  return ReadTransaction(&conn);
}

ReadTransaction::~ReadTransaction() {
  if (conn_ == nullptr) return;
  // Ending a read-only transaction loses nothing; whatever happens, the connection must leave it, or it would
  // keep serving an old snapshot (and hold back checkpoints).
  if (auto st = conn_->Prepare("COMMIT"); st.ok() && st->Run("end read transaction").ok()) return;
  conn_->EndStrayTransaction();
}

}  // namespace convstore::sqlite
