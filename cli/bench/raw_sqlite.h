// The raw-SQLite baseline of `convstore bench`: what a team would hand-roll on SQLite for the same work — a
// conversations table with counters and a messages table with the same keys (unique id, conversation + position),
// written in WAL mode at synchronous=NORMAL as convstore writes, an FTS5 table and vectors as blobs for the
// searches — with small RAII wrappers over the sqlite3 C API.
//
// A RawDb is one connection: use it from one thread at a time. Errors throw std::runtime_error with SQLite's message.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace convstore::cli::bench {

class RawDb;

// A prepared statement, reset after every use. Bound text and blobs are copied (the caller's may be temporaries).
class RawStatement {
 public:
  RawStatement(RawDb& db, const char* sql);
  ~RawStatement();
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;

  RawStatement& Bind(int i, int64_t v);
  RawStatement& Bind(int i, std::string_view text);
  RawStatement& BindBlob(int i, const void* data, size_t bytes);
  RawStatement& BindNull(int i);
  // Steps once: true while a row is there.
  bool Step();
  // Steps to the end (a write).
  void Run();
  void Reset();
  sqlite3_stmt* get() const { return st_; }

 private:
  RawDb& db_;
  sqlite3_stmt* st_ = nullptr;
};

class RawDb {
 public:
  // Opens (creating) `path` in WAL mode, synchronous NORMAL (or FULL), a 5 s busy timeout, and the baseline schema;
  // `exclusive`: in locking_mode=EXCLUSIVE from before the first access (the WAL without its -shm file).
  explicit RawDb(const std::string& path, bool full_sync = false, bool exclusive = false);
  ~RawDb();
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const char* sql);
  sqlite3* get() const { return db_; }
  [[noreturn]] void Fail(const char* what) const;

 private:
  sqlite3* db_ = nullptr;
};

// The baseline's schema (idempotent).
extern const char* const kRawSchema;

// The hand-rolled insert: one message row at the conversation's next position, and the conversation's counters,
// in the caller's transaction.
class RawMessageWriter {
 public:
  explicit RawMessageWriter(RawDb& db);
  // Returns the new row's id.
  int64_t Insert(int64_t conversation, std::string_view uid, std::string_view role, std::string_view content,
                 std::string_view model, int64_t tokens_input, int64_t tokens_output, int64_t cost_nanousd,
                 int64_t created_at_us, std::string_view metadata);

 private:
  RawDb& db_;
  RawStatement insert_, count_;
};

// A new conversation row; its rowid.
int64_t RawCreateConversation(RawDb& db, std::string_view uid, std::string_view user_key, std::string_view title,
                              int64_t now_us);

}  // namespace convstore::cli::bench
