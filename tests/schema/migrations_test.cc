// The migrations runner: fresh files, newer files refused, older files migrated in one transaction.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <sqlite3.h>

#include "schema/migrations.h"
#include "sqlite/connection.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

std::unique_ptr<sqlite::Connection> Raw(const std::string& path) {
  sqlite::ConnectionConfig c;
  c.create = true;
  auto conn = sqlite::Connection::Open(path, c);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return std::move(*conn);
}

const int kLatest = schema::BuiltinMigrations().back().version;

TEST(MigrationsTest, FreshFileGetsEveryBuiltinMigration) {
  TempDb db;
  auto s = OpenOrDie(db.path());
  EXPECT_EQ(s->schema_version(), kLatest);
  s.reset();
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(version) FROM schema_migrations"), kLatest);
  EXPECT_EQ(QueryInt(db.path(), "PRAGMA user_version"), kLatest);
  EXPECT_EQ(QueryInt(db.path(), "PRAGMA application_id"), schema::kApplicationId);
  // Reopening an up-to-date file applies nothing and writes nothing: the WAL stays empty while it is open.
  {
    auto again = OpenOrDie(db.path());
    EXPECT_EQ(again->schema_version(), kLatest);
    EXPECT_EQ(std::filesystem::file_size(db.path() + "-wal"), 0u);
  }
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM schema_migrations"), kLatest);
}

TEST(MigrationsTest, NewerFileIsRefusedAndLeftUntouched) {
  TempDb db;
  OpenOrDie(db.path()).reset();
  {
    auto raw = Raw(db.path());
    ASSERT_OK(raw->Exec("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)", "test"));
  }
  auto s = ConversationStore::Open(db.path());
  ASSERT_EQ(s.status().code(), Code::kSchemaTooNew);
  EXPECT_NE(s.status().message().find("999"), std::string::npos);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM schema_migrations"), kLatest + 1);
}

TEST(MigrationsTest, OlderFileIsMigratedInOneTransaction) {
  TempDb db;
  const std::vector<schema::Migration> v1 = {{1, "one", "CREATE TABLE a(x);"}};
  const std::vector<schema::Migration> broken = {
      {1, "one", "CREATE TABLE a(x);"},
      {2, "two", "CREATE TABLE b(y); INSERT INTO a VALUES (1);"},
      {3, "three", "THIS IS NOT SQL;"}};
  const std::vector<schema::Migration> fixed = {
      {1, "one", "CREATE TABLE a(x);"},
      {2, "two", "CREATE TABLE b(y); INSERT INTO a VALUES (1);"},
      {3, "three", "CREATE TABLE c(z);"}};
  {
    auto raw = Raw(db.path());
    auto v = schema::Migrate(*raw, v1, 1);
    ASSERT_OK(v);
    EXPECT_EQ(*v, 1);
    auto failed = schema::Migrate(*raw, broken, 2);
    EXPECT_FALSE(failed.ok());
    EXPECT_NE(failed.status().message().find("schema migration 3"), std::string::npos);
  }
  // Migration 2 ran before 3 failed, yet nothing of it remains.
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(version) FROM schema_migrations"), 1);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM a"), 0);
  {
    auto raw = Raw(db.path());
    auto v = schema::Migrate(*raw, fixed, 3);
    ASSERT_OK(v);
    EXPECT_EQ(*v, 3);
  }
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM schema_migrations"), 3);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM a"), 1);
}

TEST(MigrationsTest, ForeignDatabasesAreRefused) {
  TempDb other_app;
  {
    auto raw = Raw(other_app.path());
    ASSERT_OK(raw->Exec("CREATE TABLE inventory(id INTEGER PRIMARY KEY)", "test"));
  }
  EXPECT_CODE(ConversationStore::Open(other_app.path()), Code::kCorruption);
  EXPECT_EQ(QueryInt(other_app.path(), "SELECT count(*) FROM sqlite_schema"), 1);  // untouched
  EXPECT_EQ(QueryInt(other_app.path(), "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'delete'"), 1);
  EXPECT_FALSE(std::filesystem::exists(other_app.path() + "-wal"));
  EXPECT_EQ(QueryInt(other_app.path(), "PRAGMA application_id"), 0);

  TempDb garbage;
  std::ofstream(garbage.path()) << std::string(4096, 'z');
  EXPECT_CODE(ConversationStore::Open(garbage.path()), Code::kCorruption);
}

}  // namespace
}  // namespace convstore

namespace convstore {
namespace {

// A page of the messages table overwritten with garbage: quick_check_on_open refuses the file.
TEST(QuickCheckTest, DamagedFileIsRefusedWhenAsked) {
  TempDb db;
  {
    auto s = OpenOrDie(db.path());
    auto conv = s->CreateConversation(NewConversation{.user_key = "u"})->id;
    std::vector<NewMessage> batch(400, NewMessage{.content = std::string(300, 'x')});
    ASSERT_OK(s->AddMessages(conv, batch));
  }  // closed: the WAL is checkpointed into the file
  Options check;
  check.quick_check_on_open = true;
  ASSERT_OK(ConversationStore::Open(db.path(), check));  // healthy file: opens
  const int64_t page = QueryInt(db.path(), "PRAGMA page_size");
  const int64_t root = QueryInt(db.path(), "SELECT rootpage FROM sqlite_schema WHERE name = 'messages'");
  ASSERT_GT(root, 1);
  {
    std::fstream f(db.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root - 1) * page);
    std::string junk(static_cast<size_t>(page), '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto refused = ConversationStore::Open(db.path(), check);
  EXPECT_EQ(refused.status().code(), Code::kCorruption) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("quick_check"), std::string::npos);
}

}  // namespace
}  // namespace convstore

namespace convstore {
namespace {

TEST(HardeningTest, ConnectionsAreDefensive) {
  TempDb db;
  sqlite::ConnectionConfig c;
  c.create = true;
  auto conn = sqlite::Connection::Open(db.path(), c);
  ASSERT_TRUE(conn.ok());
  int defensive = -1;
  ASSERT_EQ(sqlite3_db_config((*conn)->raw(), SQLITE_DBCONFIG_DEFENSIVE, -1, &defensive), SQLITE_OK);
  EXPECT_EQ(defensive, 1);
  // Defensive mode: even with writable_schema, sqlite_schema cannot be edited directly.
  ASSERT_OK((*conn)->Exec("CREATE TABLE t(x)", "test"));
  ASSERT_OK((*conn)->Exec("PRAGMA writable_schema=ON", "test"));
  EXPECT_FALSE((*conn)->Exec("UPDATE sqlite_schema SET sql = 'CREATE TABLE t(y)' WHERE name = 't'", "test").ok());
  // The file's own schema runs no function or virtual table that is not marked innocuous.
  int trusted = -1;
  ASSERT_EQ(sqlite3_db_config((*conn)->raw(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, -1, &trusted), SQLITE_OK);
  EXPECT_EQ(trusted, 0);
}

// A statement of convstore's that no longer prepares (the schema changed under an open store) is corruption.
TEST(HardeningTest, ASchemaChangedUnderAnOpenStoreIsCorruption) {
  TempDb db;
  auto s = OpenOrDie(db.path());
  auto conv = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  ASSERT_OK(s->AddMessage(conv->id, {.content = "x"}));
  {
    auto raw = Raw(db.path());
    ASSERT_OK(raw->Exec("ALTER TABLE messages DROP COLUMN model_version", "damage"));
  }
  auto r = s->GetConversation(conv->id);
  EXPECT_CODE(r, Code::kCorruption);
  EXPECT_NE(r.status().message().find("model_version"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace convstore

namespace convstore {
namespace {

// A file written by schema 1 (messages with costs) opened by this build: migration 2 adds the cost engine, loads
// the price catalog and builds the rollups of the rows already there, in the same transaction.
TEST(MigrationsTest, Version1FileGetsRollupsOfItsExistingMessages) {
  TempDb db;
  static constexpr int64_t t0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  {
    auto raw = Raw(db.path());
    auto v1 = std::vector<schema::Migration>{schema::BuiltinMigrations().front()};
    ASSERT_TRUE(schema::Migrate(*raw, v1, t0).ok());
    ASSERT_OK(raw->Exec(
        "INSERT INTO teams(id, key, created_at, updated_at) VALUES (1, 'netops', 0, 0);"
        "INSERT INTO users(id, key, team_id, created_at, updated_at) VALUES (1, 'ana', 1, 0, 0);"
        "INSERT INTO conversations(id, uid, user_id, created_at, updated_at, message_count, cost_nanousd)"
        " VALUES (1, 'c1', 1, 1767225600000000, 1767225600000000, 3, 3500);"
        "INSERT INTO messages(uid, conversation_id, position, role, content, model, tokens_input, cost_nanousd,"
        " latency_us, created_at) VALUES"
        " ('m1', 1, 0, 'user', 'a', 'gpt-4o', 10, 1000, NULL, 1767225600000000),"
        " ('m2', 1, 1, 'assistant', 'b', 'gpt-4o', 20, 2500, 1200, 1767229200000000),"
        " ('m3', 1, 2, 'user', 'c', 'gpt-4o', NULL, NULL, NULL, 1767312000000000);",
        "write a version-1 file"));
  }
  Options options;
  testing::ClockEnv clock([] { return t0 + 5 * 86'400'000'000LL; });
  options.env = &clock;
  auto s = OpenOrDie(db.path(), options);
  EXPECT_EQ(s->schema_version(), kLatest);
  auto report = s->VerifyRollups();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->differences, 0);
  EXPECT_EQ(report->raw_rows, 3);
  CostFilter team;
  team.team_key = "netops";
  auto summary = s->GetCostSummary(team);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->total_messages, 3);
  EXPECT_EQ(summary->total_cost_nanousd, 3500);
  ASSERT_EQ(summary->daily.size(), 2u);
  EXPECT_EQ(summary->daily[0].date, "2026-01-02");
  EXPECT_EQ(summary->daily[1].date, "2026-01-01");
  EXPECT_EQ(summary->daily[1].tokens_input, 30);
  auto price = s->ResolvePrice("gpt-4o", t0);
  ASSERT_TRUE(price.ok()) << price.status().ToString();
  EXPECT_EQ(price->origin, "catalog");
  EXPECT_EQ(price->input_per_mtok, 2'500'000'000);
}

}  // namespace
}  // namespace convstore
