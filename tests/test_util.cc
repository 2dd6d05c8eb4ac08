#include "test_util.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace convstore::testing {

namespace {

// This process's scratch directory, made by mkdtemp: fresh and private, so a file left by an earlier run (a killed
// test, a recycled pid) is never mistaken for a new store. Removed at exit when the tests left it empty.
const std::string& ScratchDir() {
  // Never destroyed: the exit handler below runs after static destructors registered later.
  static const std::string* const dir = [] {
    auto* pattern = new std::string((std::filesystem::temp_directory_path() / "convstore-test-XXXXXX").string());
    if (::mkdtemp(pattern->data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + *pattern);
    static const pid_t owner = ::getpid();
    std::atexit([] {
      if (::getpid() == owner) ::rmdir(ScratchDir().c_str());  // not from a forked child that exits normally
    });
    return pattern;
  }();
  return *dir;
}

}  // namespace

TempDb::TempDb() {
  static std::atomic<int> counter{0};
  path_ = ScratchDir() + "/db" + std::to_string(counter++) + ".db";
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = ScratchDir() + "/dir" + std::to_string(counter++);
  std::filesystem::create_directory(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TempDb::~TempDb() {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path_ + suffix).c_str());
  // And what convstore wrote beside it (the backup an upgrade takes: "<name>.before-schema-<v>-<time>.db", its
  // manifest), so the scratch directory is left empty.
  const std::string prefix = std::filesystem::path(path_).filename().string() + ".";
  std::error_code ignored;
  for (const auto& e : std::filesystem::directory_iterator(ScratchDir(), ignored))
    if (e.path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove(e.path(), ignored);
}

std::string DowngradeSchemaSql(int version) {
  if (version < 2 || version > 13) throw std::invalid_argument("DowngradeSchemaSql: version 2 to 13");
  // The conversations' counters (version 14): older versions read the stored ones as exact.
  std::string fold = std::string("UPDATE conversations AS o SET (message_count, next_position, updated_at, tokens_input,"
                     " tokens_output, tokens_cached_input, tokens_reasoning, tokens_cache_write, cost_nanousd) ="
                     " (SELECT message_count, next_position, updated_at, tokens_input, tokens_output,"
                     " tokens_cached_input, tokens_reasoning, tokens_cache_write, cost_nanousd FROM ") +
                     kConversationsAsRead + " a WHERE a.id = o.id) WHERE EXISTS (SELECT 1 FROM messages p"
                     " WHERE p.conversation_id = o.id AND p.position >= o.next_position);";
  if (version == 13) return fold + "DELETE FROM schema_migrations WHERE version > 13; PRAGMA user_version = 13;";
  // The cost watermark (version 13): the messages past it become the cost_pending rows older versions wrote. Then
  // embeddings (version 12), the full-text index (version 11), the saved statistics (version 10); retained cost
  // (version 9), metrics (version 8), the audit log (version 7), then the journal: their triggers would fire on the
  // statements below.
  std::string sql = fold +
      "INSERT INTO cost_pending(at, user_id, team_id, model, source, role, endpoint, status, tokens_input,"
      " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us)"
      " SELECT m.created_at, c.user_id, coalesce(m.team_id, 0), coalesce(m.model, ''), 0, m.role, '', '',"
      " coalesce(m.tokens_input, 0), coalesce(m.tokens_output, 0), coalesce(m.tokens_cached_input, 0),"
      " coalesce(m.tokens_cache_write, 0), coalesce(m.tokens_reasoning, 0), coalesce(m.cost_nanousd, 0), m.latency_us"
      " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
      " WHERE m.id > (SELECT messages_through FROM cost_fold) ORDER BY m.id;"
      "DROP TABLE cost_fold;";
  if (version == 12) return sql + "DELETE FROM schema_migrations WHERE version > 12; PRAGMA user_version = 12;";
  for (const char* table : {"embedding_spaces", "message_embeddings", "conversation_embeddings"})
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
      sql += std::string("DROP TRIGGER journal_foreign_") + table + "_" + op + ";";
  sql += "DROP TABLE message_embeddings; DROP TABLE conversation_embeddings; DROP TABLE embedding_spaces;"
         "DELETE FROM sqlite_sequence WHERE name IN ('message_embeddings', 'conversation_embeddings');";
  if (version == 11) return sql + "DELETE FROM schema_migrations WHERE version > 11; PRAGMA user_version = 11;";
  sql +=
      "DROP TABLE message_words; DROP TABLE message_trigrams; DROP TABLE conversation_words;"
      "DROP TABLE conversation_trigrams; DROP VIEW message_text_source; DROP VIEW conversation_text_source;"
      "DROP TABLE search_state; DELETE FROM meta WHERE key = 'text_tokenizer';";
  if (version == 10) return sql + "DELETE FROM schema_migrations WHERE version > 10; PRAGMA user_version = 10;";
  sql += "DROP TABLE operation_stats; DROP TABLE stats_counters;";
  if (version == 9) return sql + "DELETE FROM schema_migrations WHERE version > 9; PRAGMA user_version = 9;";
  for (const char* table : {"cost_retained", "erasures"})
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
      sql += std::string("DROP TRIGGER journal_foreign_") + table + "_" + op + ";";
  sql += "DROP TABLE cost_retained; DROP TABLE erasures; DROP INDEX api_usage_conversation;";
  if (version == 8) return sql + "DELETE FROM schema_migrations WHERE version > 8; PRAGMA user_version = 8;";
  for (const char* op : {"INSERT", "UPDATE", "DELETE"}) sql += std::string("DROP TRIGGER journal_foreign_metrics_") + op + ";";
  sql += "DROP TABLE metrics;";
  if (version == 7) return sql + "DELETE FROM schema_migrations WHERE version > 7; PRAGMA user_version = 7;";
  for (const char* table : {"user_pseudonyms", "audit_log", "audit_state"})
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
      sql += std::string("DROP TRIGGER journal_foreign_") + table + "_" + op + ";";
  sql += "DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete;"
         "DROP TABLE audit_log; DROP TABLE audit_state; DROP TABLE user_pseudonyms;";
  if (version == 6) return sql + "DELETE FROM schema_migrations WHERE version > 6; PRAGMA user_version = 6;";
  for (const char* table : {"schema_migrations", "meta", "teams", "users", "conversations", "messages", "tool_calls",
                            "message_tombstones", "prices", "api_usage", "budgets", "budget_reservations"})
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
      sql += std::string("DROP TRIGGER journal_foreign_") + table + "_" + op + ";";
  sql += "DROP TRIGGER journal_foreign_change_journal_UPDATE; DROP TRIGGER journal_foreign_change_journal_DELETE;"
         "DROP TABLE change_journal; DROP TABLE journal_state; DROP TABLE journal_consumers;";
  if (version == 5)
    return sql + "DELETE FROM schema_migrations WHERE version > 5; PRAGMA user_version = 5;";
  sql +=
      "DROP INDEX messages_system; DROP INDEX tool_calls_call_id; DROP INDEX conversations_external_id;"
      "DROP TABLE message_tombstones; ALTER TABLE messages DROP COLUMN raw;"
      "ALTER TABLE conversations DROP COLUMN external_id; ALTER TABLE messages DROP COLUMN tool_call_id;"
      "ALTER TABLE tool_calls DROP COLUMN call_id; ALTER TABLE tool_calls DROP COLUMN updated_at;";
  if (version < 4) {
    sql += "DROP INDEX metadata_unindexed_user; DROP INDEX metadata_unindexed_conversation;"
           "ALTER TABLE metadata_unindexed DROP COLUMN user_id;"
           "ALTER TABLE metadata_unindexed DROP COLUMN conversation_id;";
  }
  if (version < 3) {
    sql += "DROP TABLE metadata_postings; DROP TABLE metadata_unindexed; DROP TABLE metadata_index;"
           "DELETE FROM meta WHERE key = 'metadata_excluded_paths';";
  }
  return sql + "DELETE FROM schema_migrations WHERE version > " + std::to_string(version) +
         "; PRAGMA user_version = " + std::to_string(version) + ";";
}

void ExecOnFile(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("SQL on " + path + " failed: " + message + "\n" + sql);
}

int64_t FileBytes(const std::string& path) {
  std::error_code absent;
  const auto size = std::filesystem::file_size(path, absent);
  return absent ? 0 : static_cast<int64_t>(size);
}

int64_t QueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string err = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("bad test query: " + err);
  }
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::function<int64_t()> FakeClock() {
  auto now = std::make_shared<std::atomic<int64_t>>(1770800400000000);  // 2026-02-11T09:00:00Z
  return [now] { return now->fetch_add(1000); };
}

std::unique_ptr<ConversationStore> OpenOrDie(const std::string& path, Options options) {
  auto s = ConversationStore::Open(path, options);
  if (!s.ok()) throw std::runtime_error("open failed: " + s.status().ToString());
  return std::move(*s);
}

Options NoBackgroundThreads(Options options) {
  options.background_indexing = false;
  options.background_checkpoints = false;
  return options;
}

int EnvCount(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

std::string AddMessages(ConversationStore& store, int n, const std::string& content) {
  auto conv = store.CreateConversation({.user_key = "ana", .title = "t"});
  if (!conv.ok()) throw std::runtime_error("create_conversation failed: " + conv.status().ToString());
  for (int i = 0; i < n; ++i) {
    auto added = store.AddMessage(conv->id, {.role = Role::kUser, .content = content});
    if (!added.ok()) throw std::runtime_error("add_message failed: " + added.status().ToString());
  }
  return conv->id;
}

UserImportOptions ImportFromString(std::string text) {
  auto data = std::make_shared<const std::string>(std::move(text));
  auto offset = std::make_shared<size_t>(0);
  return {.source = [data, offset](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::min(cap, data->size() - *offset);
    std::memcpy(buf, data->data() + *offset, n);
    *offset += n;
    return n;
  }};
}

}  // namespace convstore::testing
