// Connection: one RAII sqlite3 handle with a cache of prepared statements.
// Not thread-safe: a connection is used by one thread at a time (the writer under the store's write mutex, a
// reader while leased from the pool).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <unordered_map>
#include <vector>

#include "convstore/status.h"
#include "sqlite/statement.h"
#include "sqlite/transaction_observer.h"

struct sqlite3;
struct sqlite3_stmt;

namespace convstore::sqlite {

class Checkpointer;

struct ConnectionConfig {
  bool read_only = false;  // sets PRAGMA query_only
  bool open_read_only = false;  // SQLITE_OPEN_READONLY: the file is never written (a read-only store)
  // With open_read_only: tell SQLite the file cannot change while open (no locks, no -shm), for a WAL database in
  // a directory where the -shm file cannot be created. Safe only when no other process writes the file.
  bool immutable = false;
  bool create = false;
  bool full_sync = false;
  // Opened through the process-exclusive VFS ("unix-excl"), its lock taken at open (after busy_timeout_ms, kBusy
  // naming the reason when another process has the file open): this process keeps the file until its last
  // exclusive connection to it closes, other processes are refused, and the WAL index lives in this process's heap
  // (no -shm file), shared by its connections to the file. Other connections of this process to the file share
  // that hold (SQLite keeps one lock state per file per process); the store keeps its own out (api/open_files.h).
  bool exclusive = false;
  int busy_timeout_ms = 5000;
  int cache_kib = 8192;
  int64_t mmap_bytes = 0;
};

// Pages of SQLite's page cache used since the last TakeCacheUse (sqlite3_db_status CACHE_HIT, CACHE_MISS,
// CACHE_WRITE): found in the cache, read from the file, written to it.
struct CacheUse {
  int64_t hits = 0, misses = 0, writes = 0;
};

// CacheUse added up across connections and calls (the reader pool's, the write queue's, a store's). Thread-safe:
// relaxed atomics, each counter exact, the three not one snapshot.
class CacheCounters {
 public:
  void Add(const CacheUse& use) noexcept {
    hits_.fetch_add(use.hits, std::memory_order_relaxed);
    misses_.fetch_add(use.misses, std::memory_order_relaxed);
    writes_.fetch_add(use.writes, std::memory_order_relaxed);
  }
  CacheUse Peek() const noexcept {
    return {hits_.load(std::memory_order_relaxed), misses_.load(std::memory_order_relaxed),
            writes_.load(std::memory_order_relaxed)};
  }
  // The counts, then zeroed.
  CacheUse Take() noexcept {
    return {hits_.exchange(0, std::memory_order_relaxed), misses_.exchange(0, std::memory_order_relaxed),
            writes_.exchange(0, std::memory_order_relaxed)};
  }

 private:
  std::atomic<int64_t> hits_{0}, misses_{0}, writes_{0};
};

class Connection {
 public:
  // `path` is a file path or ":memory:", never a URI: a relative path is given to SQLite as "./path", so a name
  // such as "file:x.db" stays a file name whatever SQLite's process-wide URI setting.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, const ConnectionConfig& config);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* raw() const noexcept { return db_; }
  // Runs one or more statements without results (schema, pragmas).
  Status Exec(std::string_view sql, std::string_view context);
  // A cached prepared statement for `sql`. The cache is keyed by the pointer, so `sql` must be a string literal
  // (or otherwise live as long as the connection).
  Result<Stmt> Prepare(const char* sql);

  // The prepare / bind / step / check shape in one call. `args` bind to ?1, ?2, ... in order (int64_t, string
  // views, optionals: what Stmt::Bind takes); `context` names the work in an error.
  // Runs the statement to completion (an insert, update or delete).
  template <typename... Args>
  Status Run(const char* sql, std::string_view context, const Args&... args) {
    auto st = Prepare(sql);
    if (!st.ok()) return st.status();
    BindAll(*st, args...);
    return st->Run(context);
  }
  // The first column of the first row as an integer; nullopt when there is no row.
  template <typename... Args>
  Result<std::optional<int64_t>> QueryInt(const char* sql, std::string_view context, const Args&... args) {
    auto st = Prepare(sql);
    if (!st.ok()) return st.status();
    BindAll(*st, args...);
    auto row = st->Step(context);
    if (!row.ok()) return row.status();
    return *row ? std::optional<int64_t>(st->Int(0)) : std::nullopt;
  }
  // The first column of every row as integers (ids, typically).
  template <typename... Args>
  Result<std::vector<int64_t>> QueryInts(const char* sql, std::string_view context, const Args&... args) {
    auto st = Prepare(sql);
    if (!st.ok()) return st.status();
    BindAll(*st, args...);
    std::vector<int64_t> values;
    for (;;) {
      auto row = st->Step(context);
      if (!row.ok()) return row.status();
      if (!*row) return values;
      values.push_back(st->Int(0));
    }
  }
  // The first row, read by read(const Stmt&) -> T; nullopt when there is no row.
  template <typename Read, typename... Args>
  auto QueryRow(const char* sql, std::string_view context, Read&& read, const Args&... args)
      -> Result<std::optional<std::invoke_result_t<Read, const Stmt&>>> {
    using T = std::invoke_result_t<Read, const Stmt&>;
    auto st = Prepare(sql);
    if (!st.ok()) return st.status();
    BindAll(*st, args...);
    auto row = st->Step(context);
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<T>();
    return std::optional<T>(read(std::as_const(*st)));
  }
  // Hands each row in turn to visit(const Stmt&) -> bool, which returns false to stop early; returns whether the
  // query yielded any row at all.
  template <typename Visit, typename... Args>
  Result<bool> ForEachRow(const char* sql, std::string_view context, Visit&& visit, const Args&... args) {
    auto st = Prepare(sql);
    if (!st.ok()) return st.status();
    BindAll(*st, args...);
    for (bool any = false;; any = true) {
      auto row = st->Step(context);
      if (!row.ok()) return row.status();
      if (!*row) return any;
      if (!visit(std::as_const(*st))) return true;
    }
  }

  // QueryInt for SQL built at run time (prepared, run and finalized each call: not for hot paths).
  Result<std::optional<int64_t>> QueryIntUncached(const std::string& sql, std::string_view context);

  // How long a statement waits for another connection's lock before failing with SQLITE_BUSY (the connection's
  // own busy handler: never PRAGMA busy_timeout, which would replace it).
  void SetBusyTimeout(int ms) noexcept { busy_timeout_ms_ = ms; }
  int busy_timeout_ms() const noexcept { return busy_timeout_ms_; }
  int64_t changes() const noexcept;
  // Whether SQLite opened the main database read-only (it does so silently when the file is not writable).
  bool ReadOnlyFile() const noexcept;
  int64_t last_insert_rowid() const noexcept;
  // Rolls back a transaction left open by a failure (out of memory while ending it); no-op otherwise.
  void EndStrayTransaction() noexcept;
  // Switches the database to WAL (persistent in the file) and sets the checkpoint policy: a passive checkpoint after
  // a commit leaves kAutoCheckpointFrames or more frames in the WAL, run and counted by this connection — or, with
  // a Checkpointer set, each commit's frame count told to it (it checkpoints from Checkpointer::kRequestFrames on),
  // and, should it fall behind, a RESTART checkpoint here from kInlineCheckpointFrames on: the committing thread is
  // the writer, so the WAL cannot grow while it waits (Checkpointer::ReaderWaitMs at most) for readers to leave it,
  // and the WAL starts again instead of growing. After a wait that readers outlasted (another process's long read),
  // the next waits until the WAL has grown by another Checkpointer::kRequestFrames.
  Status EnableWal();
  static constexpr int kAutoCheckpointFrames = 4000;
  static constexpr int kInlineCheckpointFrames = 16000;
  // The background checkpointer the commit hook asks (nullptr: none, checkpoint here). Not owned: set it to nullptr
  // before the checkpointer goes. Same thread rules as any other use of the connection.
  void SetCheckpointer(Checkpointer* checkpointer) noexcept { checkpointer_ = checkpointer; }
  // The page-cache use since the last call (then zeroed). Same thread rules as any other use of the connection.
  CacheUse TakeCacheUse() noexcept;
  // The automatic checkpoints EnableWal's policy ran since the last call (then zeroed), whatever they could copy: a
  // reader that pins the WAL makes every commit past the threshold try again. Any thread.
  int64_t TakeAutoCheckpoints() noexcept { return auto_checkpoints_.exchange(0, std::memory_order_relaxed); }
  // Work run inside every WriteTransaction on this connection (transaction_observer.h); nullptr for none. Not owned.
  void SetObserver(TransactionObserver* observer) noexcept { observer_ = observer; }
  TransactionObserver* observer() const noexcept { return observer_; }
  // The tables a statement would read (through views too), found by preparing it under an authorizer; the
  // statement is not run. An error when it cannot be prepared.
  Result<std::vector<std::string>> TablesReadBy(const std::string& sql);

 private:
  template <typename... Args>
  static void BindAll(Stmt& st, const Args&... args) {
    int index = 0;
    (st.Bind(++index, args), ...);
  }

  explicit Connection(sqlite3* db) : db_(db) {}
  static int AfterWalCommit(void* self, sqlite3* db, const char* schema, int frames);
  // RestartCheckpoint with the busy handler off, waiting Checkpointer::ReaderWaitMs(frames) at most; true when the
  // WAL starts again. Only from the commit hook: this connection is the writer.
  bool RestartHoldingWriter(const char* schema, int frames);
  sqlite3* db_;
  std::atomic<int64_t> auto_checkpoints_{0};
  Checkpointer* checkpointer_ = nullptr;
  int busy_timeout_ms_ = 0;  // read by the busy handler
  int inline_hold_from_ = 0;  // the commit hook's: no RESTART here before the WAL holds this many frames
  TransactionObserver* observer_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// BEGIN IMMEDIATE ... COMMIT on a connection; rolls back when destroyed uncommitted. Runs the connection's
// observer (if any) after BEGIN, before COMMIT and when the transaction ends.
class WriteTransaction {
 public:
  static Result<WriteTransaction> Begin(Connection& conn);
  WriteTransaction(WriteTransaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  WriteTransaction& operator=(WriteTransaction&&) = delete;
  ~WriteTransaction();
  Status Commit();

 private:
  explicit WriteTransaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

// BEGIN (deferred) ... COMMIT around several reads so they share one snapshot. Ends the transaction when destroyed.
class ReadTransaction {
 public:
  static Result<ReadTransaction> Begin(Connection& conn);
  ReadTransaction(ReadTransaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ReadTransaction& operator=(ReadTransaction&&) = delete;
  ~ReadTransaction();

 private:
  explicit ReadTransaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

}  // namespace convstore::sqlite
