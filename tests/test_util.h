// Helpers shared by the GoogleTest suites: temporary files, raw SQLite inspection, assertion macros.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "convstore/convstore.hpp"

namespace convstore::testing {

// The schema version this build creates and migrates to.
inline constexpr int kSchemaVersion = 14;
// The messages that are pending cost rows (past the cost watermark), for tests that look at the fold.
inline constexpr const char* kPendingMessagesSql =
    "SELECT count(*) FROM messages WHERE id > (SELECT messages_through FROM cost_fold)";

// The conversations with their counters as convstore reads them: the stored ones plus the pending messages (those at
// or past the stored next_position). Use it in place of the table: "SELECT message_count FROM " + kConversationsAsRead.
#define CONVSTORE_PENDING_OF_C " FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position"
inline constexpr const char* kConversationsAsRead =
    "(SELECT c.id, c.uid, c.user_id, c.archived, c.created_at,"
    " c.message_count + (SELECT count(*)" CONVSTORE_PENDING_OF_C ") AS message_count,"
    " max(c.next_position, coalesce((SELECT max(p.position) + 1" CONVSTORE_PENDING_OF_C "), 0)) AS next_position,"
    " max(c.updated_at, coalesce((SELECT max(p.created_at)" CONVSTORE_PENDING_OF_C "), 0)) AS updated_at,"
    " c.tokens_input + (SELECT coalesce(sum(p.tokens_input), 0)" CONVSTORE_PENDING_OF_C ") AS tokens_input,"
    " c.tokens_output + (SELECT coalesce(sum(p.tokens_output), 0)" CONVSTORE_PENDING_OF_C ") AS tokens_output,"
    " c.tokens_cached_input + (SELECT coalesce(sum(p.tokens_cached_input), 0)" CONVSTORE_PENDING_OF_C
    ") AS tokens_cached_input,"
    " c.tokens_reasoning + (SELECT coalesce(sum(p.tokens_reasoning), 0)" CONVSTORE_PENDING_OF_C
    ") AS tokens_reasoning,"
    " c.tokens_cache_write + (SELECT coalesce(sum(p.tokens_cache_write), 0)" CONVSTORE_PENDING_OF_C
    ") AS tokens_cache_write,"
    " c.cost_nanousd + (SELECT coalesce(sum(p.cost_nanousd), 0)" CONVSTORE_PENDING_OF_C ") AS cost_nanousd"
    " FROM conversations c)";

// A fresh path in this process's private temp directory (mkdtemp); the file and its -wal/-shm are removed on
// destruction.
class TempDb {
 public:
  TempDb();
  ~TempDb();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A fresh directory of its own (mkdtemp), removed with everything in it on destruction; dir / "name" is a path in
// it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The size of the file at `path` in bytes; 0 when there is none.
int64_t FileBytes(const std::string& path);

// Runs a single-value query on the file with a separate raw SQLite connection (NULL reads as -1).
int64_t QueryInt(const std::string& path, const std::string& sql);
// Runs SQL on the file through a plain SQLite connection of its own, as another program would (no convstore check in
// the way); throws std::runtime_error with SQLite's message when it fails.
void ExecOnFile(const std::string& path, const std::string& sql);

// A fixed, advancing clock for deterministic timestamps: starts at 2026-02-11T09:00:00Z, +1 ms per call.
std::function<int64_t()> FakeClock();

// An Env whose time is `now()` (convstore/env.h); point Options::env at it and keep it alive while the store is.
class ClockEnv final : public Env {
 public:
  explicit ClockEnv(std::function<int64_t()> now) : now_(std::move(now)) {}
  int64_t NowMicros() override { return now_(); }

 private:
  std::function<int64_t()> now_;
};

// SQL that takes a file this build wrote back to schema `version` (2 to 10), as the older build would have left
// it: each later migration's tables, columns and indexes removed and its schema_migrations row deleted. Rows in
// dropped tables or columns are lost, as they would never have existed.
std::string DowngradeSchemaSql(int version);

std::unique_ptr<ConversationStore> OpenOrDie(const std::string& path, Options options = {});

// Options with none of the store's background threads (the full-text indexer, the checkpointer): what a test that
// compares exact file state, counts work at the moment it is done, or forks without threads opens with.
Options NoBackgroundThreads(Options options = {});

// A heavy test's count from the environment variable `name` (a positive integer), else `fallback`.
int EnvCount(const char* name, int fallback);

// A new conversation of user "ana" with `n` user messages of `content` added one call each; its id. Throws
// std::runtime_error when a call fails.
std::string AddMessages(ConversationStore& store, int n, const std::string& content = "hello");

// Import options reading `text` (a user export) through the source callback, once: make new ones for each import.
UserImportOptions ImportFromString(std::string text);

}  // namespace convstore::testing

#define ASSERT_OK(expr)                                        \
  do {                                                         \
    const auto& _r = (expr);                                   \
    ASSERT_TRUE(_r.ok()) << ::convstore::testing::Describe(_r); \
  } while (0)

#define EXPECT_CODE(expr, expected_code)                                                     \
  do {                                                                                       \
    const auto& _r = (expr);                                                                 \
    EXPECT_EQ(::convstore::testing::CodeOf(_r), expected_code) << ::convstore::testing::Describe(_r); \
  } while (0)

namespace convstore::testing {
inline std::string Describe(const Status& s) { return s.ToString(); }
template <typename T>
std::string Describe(const Result<T>& r) { return r.status().ToString(); }
inline Code CodeOf(const Status& s) { return s.code(); }
template <typename T>
Code CodeOf(const Result<T>& r) { return r.status().code(); }
}  // namespace convstore::testing
