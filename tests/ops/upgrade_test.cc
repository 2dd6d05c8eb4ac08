// Opening a file that needs migrating: a verified backup before a migration that rewrites data, progress, and
// other processes that open the file meanwhile waiting with a message that says who is migrating what.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"
#include "util/marker_file.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDir;

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Backups named "<store>.before-schema-*.db" in `dir`.
std::vector<std::string> MigrationBackups(const std::string& dir) {
  std::vector<std::string> found;
  auto listing = ListBackups(dir);
  if (!listing.ok()) return found;
  for (const auto& b : *listing)
    if (b.path.find(".before-schema-") != std::string::npos) found.push_back(b.path);
  return found;
}

// A store at `version` (2..5) holding one conversation with three messages.
void WriteOldStore(const std::string& path, int version) {
  {
    auto s = OpenOrDie(path);
    auto conv = s->CreateConversation({.user_key = "ana@example.com"});
    ASSERT_TRUE(conv.ok());
    for (int i = 0; i < 3; ++i) {
      NewMessage m;
      m.role = Role::kUser;
      m.content = "hello " + std::to_string(i);
      ASSERT_TRUE(s->AddMessage(conv->id, m).ok());
    }
    ASSERT_TRUE(s->Close().ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, testing::DowngradeSchemaSql(version).c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// Progress reports heard, thread-safe.
struct Heard {
  std::mutex mu;
  std::vector<std::string> operations;
  std::function<void(const Progress&)> Callback() {
    return [this](const Progress& p) {
      std::lock_guard lock(mu);
      operations.push_back(p.operation);
    };
  }
  bool Any(const std::string& prefix) {
    std::lock_guard lock(mu);
    for (const auto& o : operations)
      if (o.rfind(prefix, 0) == 0) return true;
    return false;
  }
  std::string First(const std::string& prefix) {
    std::lock_guard lock(mu);
    for (const auto& o : operations)
      if (o.rfind(prefix, 0) == 0) return o;
    return "";
  }
};

TEST(Upgrade, AMigrationThatRewritesDataTakesAVerifiedBackupFirst) {
  TempDir dir;
  const std::string path = dir / "agents.db";
  WriteOldStore(path, 3);
  auto info = InspectStore(path);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->pending_migrations[0].rewrites_data);  // 4 folds pending cost rows
  Heard heard;
  Options options;
  options.on_progress = heard.Callback();
  auto store = OpenOrDie(path, options);
  EXPECT_EQ(store->schema_version(), testing::kSchemaVersion);
  EXPECT_EQ(store->ListConversations({.user_key = "ana@example.com"})->items.size(), 1u);

  auto backups = MigrationBackups(dir.path());
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0].rfind(path + ".before-schema-" + std::to_string(testing::kSchemaVersion) + "-", 0), 0u)
      << backups[0];
  struct stat st {};
  ASSERT_EQ(::stat(backups[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto check = VerifyBackup(backups[0]);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
  EXPECT_EQ(check->manifest.schema_version, 3);  // the file as it was
  EXPECT_EQ(QueryInt(backups[0], "SELECT count(*) FROM messages"), 3);
  EXPECT_EQ(QueryInt(backups[0], "SELECT max(version) FROM schema_migrations"), 3);
  EXPECT_TRUE(heard.Any("before schema migration, backup: copy"));
  EXPECT_TRUE(heard.Any("schema migration 4"));
  EXPECT_FALSE(Exists(path + "-migrate"));

  // Opened again: nothing to migrate, no second backup.
  ASSERT_TRUE(store->Close().ok());
  store = OpenOrDie(path);
  EXPECT_EQ(MigrationBackups(dir.path()).size(), 1u);
}

TEST(Upgrade, NoBackupWhenTurnedOffOrWhenTheMigrationOnlyAddsTables) {
  TempDir dir;
  WriteOldStore(dir / "off.db", 3);
  Options off;
  off.backup_before_migration = false;
  EXPECT_EQ(OpenOrDie(dir / "off.db", off)->schema_version(), testing::kSchemaVersion);
  WriteOldStore(dir / "v5.db", 5);  // 6 adds the journal's tables: nothing rewritten
  EXPECT_FALSE(InspectStore(dir / "v5.db")->pending_migrations[0].rewrites_data);
  EXPECT_EQ(OpenOrDie(dir / "v5.db")->schema_version(), testing::kSchemaVersion);
  EXPECT_TRUE(MigrationBackups(dir.path()).empty());
}

TEST(Upgrade, TheBackupGoesWhereItIsToldAndAFailedBackupMigratesNothing) {
  TempDir dir;
  TempDir elsewhere;
  const std::string path = dir / "agents.db";
  WriteOldStore(path, 3);
  Options options;
  options.migration_backup_directory = elsewhere.path();
  {
    auto store = OpenOrDie(path, options);
    EXPECT_EQ(MigrationBackups(elsewhere.path()).size(), 1u);
    EXPECT_TRUE(MigrationBackups(dir.path()).empty());
  }

  const std::string second = dir / "second.db";
  WriteOldStore(second, 3);
  options.migration_backup_directory = dir / "missing";
  auto refused = ConversationStore::Open(second, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("migration_backup_directory"), std::string::npos);

  options.migration_backup_directory = "/proc";  // a directory nobody can create files in
  refused = ConversationStore::Open(second, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("was not migrated from schema version 3 to " + std::to_string(testing::kSchemaVersion)), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("backup_before_migration"), std::string::npos);
  EXPECT_EQ(InspectStore(second)->schema_version, 3);
  EXPECT_FALSE(Exists(second + "-migrate"));
}

TEST(Upgrade, AnOpenWaitsForAnotherProcesssMigrationAndSaysWhy) {
  TempDir dir;
  const std::string path = dir / "agents.db";
  WriteOldStore(path, 3);
  // Stands in for another process migrating the file (flock: every open of the marker is its own holder).
  const std::string who = "process 4242 is migrating '" + path + "' from schema version 3 to 6 (started ...)";
  auto held = util::MarkerFile::Acquire(path + "-migrate", who, nullptr);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(InspectStore(path)->migration_in_progress, who);

  Options read_only;
  read_only.read_only = true;
  auto reader = ConversationStore::Open(path, read_only);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kReadOnly);
  EXPECT_NE(reader.status().message().find(who), std::string::npos) << reader.status().message();

  Heard heard;
  Options options;
  options.on_progress = heard.Callback();
  options.busy_timeout_ms = 50;  // the wait below outlasts it: an open waits for a migration, not for a timeout
  std::atomic<bool> opened{false};
  Result<std::unique_ptr<ConversationStore>> waiting = Status::Internal("not yet");
  std::thread opener([&] {
    waiting = ConversationStore::Open(path, options);
    opened = true;
  });
  for (int i = 0; i < 500 && !heard.Any("waiting for another process's schema migration"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(heard.First("waiting for another process's schema migration"),
            "waiting for another process's schema migration: " + who);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(opened.load());  // still waiting, 4 times past busy_timeout_ms
  *held = util::MarkerFile::Acquire(dir / "unrelated", "", nullptr).value();  // releases the marker
  opener.join();
  ASSERT_TRUE(waiting.ok()) << waiting.status().ToString();
  EXPECT_EQ((*waiting)->schema_version(), testing::kSchemaVersion);
  EXPECT_EQ(InspectStore(path)->migration_in_progress, "");
  EXPECT_FALSE(Exists(path + "-migrate"));
}

TEST(Upgrade, OpensAtOnceMigrateTheFileOnceAndAStaleMarkerIsTakenOver) {
  TempDir dir;
  const std::string path = dir / "agents.db";
  WriteOldStore(path, 3);
  {  // a marker left by a process that died: not locked
    FILE* f = std::fopen((path + "-migrate").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("process 1 is migrating ...", f);
    std::fclose(f);
  }
  EXPECT_EQ(InspectStore(path)->migration_in_progress, "");
  std::vector<std::thread> openers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    openers.emplace_back([&] {
      auto s = ConversationStore::Open(path);
      if (s.ok() && (*s)->schema_version() == testing::kSchemaVersion) ++ok;
    });
  for (auto& t : openers) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(MigrationBackups(dir.path()).size(), 1u);  // one migration, one backup
  EXPECT_FALSE(Exists(path + "-migrate"));
}

TEST(Upgrade, AFileThatCannotMigrateLeavesNoBackupBehind) {
  TempDir dir;
  // A damaged schema (a trigger on a convstore table) is refused before any backup is taken.
  const std::string damaged = dir / "damaged.db";
  WriteOldStore(damaged, 3);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(damaged.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TRIGGER t AFTER INSERT ON messages BEGIN SELECT 1; END;", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  for (int attempt = 0; attempt < 3; ++attempt) EXPECT_EQ(ConversationStore::Open(damaged).status().code(), Code::kCorruption);
  // A migration that fails after the backup (an application table where migration 6 creates one): the backup goes.
  const std::string clash = dir / "clash.db";
  WriteOldStore(clash, 3);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(clash.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE journal_consumers(x)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  for (int attempt = 0; attempt < 3; ++attempt) EXPECT_FALSE(ConversationStore::Open(clash).ok());
  EXPECT_EQ(InspectStore(clash)->schema_version, 3);
  EXPECT_TRUE(MigrationBackups(dir.path()).empty());
  EXPECT_FALSE(Exists(damaged + "-migrate"));
  EXPECT_FALSE(Exists(clash + "-migrate"));
}

TEST(Upgrade, ALongStoreNameIsShortenedInTheBackupsName) {
  TempDir dir;
  const std::string path = dir / (std::string(240, 'n') + ".db");  // fits the store's own limit
  WriteOldStore(path, 3);
  auto store = OpenOrDie(path);
  EXPECT_EQ(store->schema_version(), testing::kSchemaVersion);
  auto backups = MigrationBackups(dir.path());
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_TRUE(VerifyBackup(backups[0])->ok);
}

}  // namespace
}  // namespace convstore
