#include "bench/raw_sqlite.h"

#include <stdexcept>

namespace convstore::cli::bench {

const char* const kRawSchema = R"sql(
CREATE TABLE IF NOT EXISTS conversations(
  id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, user_key TEXT NOT NULL, title TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, message_count INTEGER NOT NULL DEFAULT 0,
  tokens_input INTEGER NOT NULL DEFAULT 0, tokens_output INTEGER NOT NULL DEFAULT 0,
  cost_nanousd INTEGER NOT NULL DEFAULT 0, metadata TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS conversations_user_recent ON conversations(user_key, updated_at DESC);
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  position INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, model TEXT NOT NULL,
  tokens_input INTEGER, tokens_output INTEGER, cost_nanousd INTEGER, created_at INTEGER NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}', UNIQUE(conversation_id, position));
CREATE INDEX IF NOT EXISTS messages_created ON messages(created_at);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', content_rowid='id');
CREATE TABLE IF NOT EXISTS embeddings(message_id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
)sql";

RawDb::RawDb(const std::string& path, bool full_sync, bool exclusive) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    Fail("open");
  sqlite3_busy_timeout(db_, 5000);
  if (exclusive) Exec("PRAGMA locking_mode=EXCLUSIVE");
  Exec("PRAGMA journal_mode=WAL");
  Exec(full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  Exec(kRawSchema);
}

RawDb::~RawDb() { sqlite3_close_v2(db_); }

void RawDb::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string what = std::string("raw SQLite: ") + (err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    throw std::runtime_error(what);
  }
}

void RawDb::Fail(const char* what) const {
  throw std::runtime_error(std::string("raw SQLite ") + what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

RawStatement::RawStatement(RawDb& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) != SQLITE_OK)
    db.Fail("prepare");
}

RawStatement::~RawStatement() { sqlite3_finalize(st_); }

RawStatement& RawStatement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}

RawStatement& RawStatement::Bind(int i, std::string_view text) {
  sqlite3_bind_text(st_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

RawStatement& RawStatement::BindBlob(int i, const void* data, size_t bytes) {
  sqlite3_bind_blob(st_, i, data, static_cast<int>(bytes), SQLITE_TRANSIENT);
  return *this;
}

RawStatement& RawStatement::BindNull(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

bool RawStatement::Step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(st_);
  db_.Fail("step");
}

void RawStatement::Run() {
  while (Step()) {
  }
  Reset();
}

void RawStatement::Reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

RawMessageWriter::RawMessageWriter(RawDb& db)
    : db_(db),
      insert_(db,
              "INSERT INTO messages(uid, conversation_id, position, role, content, model, tokens_input, "
              "tokens_output, cost_nanousd, created_at, metadata) VALUES(?1, ?2, "
              "(SELECT message_count FROM conversations WHERE id = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
      count_(db,
             "UPDATE conversations SET message_count = message_count + 1, tokens_input = tokens_input + ?2, "
             "tokens_output = tokens_output + ?3, cost_nanousd = cost_nanousd + ?4, updated_at = ?5 WHERE id = ?1") {}

int64_t RawMessageWriter::Insert(int64_t conversation, std::string_view uid, std::string_view role,
                                 std::string_view content, std::string_view model, int64_t tokens_input,
                                 int64_t tokens_output, int64_t cost_nanousd, int64_t created_at_us,
                                 std::string_view metadata) {
  insert_.Bind(1, uid).Bind(2, conversation).Bind(3, role).Bind(4, content).Bind(5, model).Bind(6, tokens_input);
  insert_.Bind(7, tokens_output).Bind(8, cost_nanousd).Bind(9, created_at_us).Bind(10, metadata).Run();
  const int64_t id = sqlite3_last_insert_rowid(db_.get());
  count_.Bind(1, conversation).Bind(2, tokens_input).Bind(3, tokens_output).Bind(4, cost_nanousd);
  count_.Bind(5, created_at_us).Run();
  return id;
}

int64_t RawCreateConversation(RawDb& db, std::string_view uid, std::string_view user_key, std::string_view title,
                              int64_t now_us) {
  RawStatement st(db,
                  "INSERT INTO conversations(uid, user_key, title, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?4)");
  st.Bind(1, uid).Bind(2, user_key).Bind(3, title).Bind(4, now_us).Run();
  return sqlite3_last_insert_rowid(db.get());
}

}  // namespace convstore::cli::bench
