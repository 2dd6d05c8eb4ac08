// Health: each check's level, number and thresholds on a store made to warn or fail in that one respect; the
// thresholds' validation; a read-only and an in-memory store.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::AddMessages;
using testing::ExecOnFile;
using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;
using testing::TempDir;

constexpr int64_t kUsd = 1'000'000'000;
constexpr int64_t kStart = 1'780'000'000'000'000;  // 2026-05-28

const HealthCheck& Check(const HealthReport& report, const std::string& name) {
  for (const HealthCheck& c : report.checks)
    if (c.name == name) return c;
  static const HealthCheck missing{};
  ADD_FAILURE() << "no check " << name;
  return missing;
}

HealthReport Health(ConversationStore& store, HealthThresholds thresholds = {}, bool quick_check = true) {
  auto r = store.CheckHealth({.thresholds = thresholds, .quick_check = quick_check});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : HealthReport{};
}

TEST(HealthTest, AFreshStoreIsOkInEveryCheckInTheDocumentedOrder) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  const HealthReport r = Health(*store);
  EXPECT_EQ(r.level, HealthLevel::kOk);
  std::vector<std::string> names;
  for (const HealthCheck& c : r.checks) {
    names.push_back(c.name);
    EXPECT_EQ(c.level, HealthLevel::kOk) << c.name << ": " << c.message;
    EXPECT_FALSE(c.message.empty());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"quick_check", "wal_size", "free_pages", "journal_lag", "archive_lag",
                                             "sync_lag", "disk_free", "budgets", "erasures"}));
  EXPECT_GT(Check(r, "disk_free").value, 0);
  EXPECT_EQ(Check(r, "wal_size").warn_at, 64.0 * (1 << 20));
  EXPECT_EQ(Check(r, "wal_size").fail_at, 1024.0 * (1 << 20));
  EXPECT_EQ(std::string(HealthLevelName(HealthLevel::kWarn)), "warn");
  EXPECT_EQ(Check(Health(*store, {}, false), "quick_check").message, "skipped");
}

TEST(HealthTest, TheWalWarnsAndFailsAtItsThresholds) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  AddMessages(*store, 20);
  const int64_t wal = static_cast<int64_t>(Health(*store).checks[1].value);
  ASSERT_GT(wal, 0);
  std::ifstream f(db.path() + "-wal", std::ios::binary | std::ios::ate);
  EXPECT_EQ(wal, static_cast<int64_t>(f.tellg()));
  HealthThresholds t;
  t.wal_warn_bytes = wal;
  EXPECT_EQ(Check(Health(*store, t), "wal_size").level, HealthLevel::kWarn);
  t.wal_fail_bytes = wal;
  const HealthReport r = Health(*store, t);
  EXPECT_EQ(Check(r, "wal_size").level, HealthLevel::kFail);
  EXPECT_EQ(r.level, HealthLevel::kFail);
  EXPECT_NE(Check(r, "wal_size").message.find("fails at"), std::string::npos) << Check(r, "wal_size").message;
}

TEST(HealthTest, FreePagesWarnUntilOptimizeGivesThemBack) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  AddMessages(*store, 5);
  // 4 MiB in a table another program makes and drops: its pages go to the free list.
  ExecOnFile(db.path(), "CREATE TABLE scratch(b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                        "WHERE i < 1024) INSERT INTO scratch SELECT zeroblob(4096) FROM n; DROP TABLE scratch;");
  const HealthCheck before = Check(Health(*store), "free_pages");
  EXPECT_EQ(before.level, HealthLevel::kWarn) << before.message;
  EXPECT_GT(before.value, 0.25);
  EXPECT_NE(before.message.find("convstore optimize"), std::string::npos);
  ASSERT_OK(store->Optimize({}));
  const HealthCheck after = Check(Health(*store), "free_pages");
  EXPECT_EQ(after.level, HealthLevel::kOk) << after.message;
  EXPECT_EQ(after.value, 0);
}

TEST(HealthTest, JournalLagNamesTheSlowestConsumer) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  AddMessages(*store, 10);
  auto journal = store->GetJournalStatus();
  ASSERT_OK(journal);
  ASSERT_OK(store->SetJournalConsumer("reports", journal->last_seq - 3));
  ASSERT_OK(store->SetJournalConsumer("search-indexer", journal->last_seq));
  HealthThresholds t;
  t.journal_lag_warn_entries = 3;
  const HealthCheck c = Check(Health(*store, t), "journal_lag");
  EXPECT_EQ(c.level, HealthLevel::kWarn);
  EXPECT_EQ(c.value, 3);
  EXPECT_NE(c.message.find("'reports' is 3 entries behind"), std::string::npos) << c.message;
  t.journal_lag_fail_entries = 3;
  EXPECT_EQ(Check(Health(*store, t), "journal_lag").level, HealthLevel::kFail);
  ASSERT_OK(store->SetJournalConsumer("reports", journal->last_seq));
  EXPECT_EQ(Check(Health(*store, t), "journal_lag").level, HealthLevel::kOk);
}

TEST(HealthTest, ArchiveLagIsTheAgeOfTheOldestEntryNotArchived) {
  TempDb db;
  TempDir dir;
  std::atomic<int64_t> now{kStart};
  testing::ClockEnv env([&] { return now.load(); });
  Options options;
  options.env = &env;
  auto store = OpenOrDie(db.path(), options);
  AddMessages(*store, 3);
  ASSERT_OK(store->ArchiveNow({.directory = dir / "archive"}));
  EXPECT_EQ(Check(Health(*store), "archive_lag").message, "1 archive up to date");
  now += 1'000'000;
  AddMessages(*store, 1);  // two entries: the conversation and the message, both at this instant
  now += 600'000'000;
  HealthThresholds t;
  const HealthCheck c = Check(Health(*store, t), "archive_lag");
  EXPECT_EQ(c.level, HealthLevel::kWarn) << c.message;  // 10 minutes: past the 5-minute warning
  EXPECT_NEAR(c.value, 600e6, 10);
  EXPECT_NE(c.message.find("is 10 min behind (2 entries not taken yet)"), std::string::npos) << c.message;
  t.archive_lag_fail_us = 600'000'000 - 100;
  EXPECT_EQ(Check(Health(*store, t), "archive_lag").level, HealthLevel::kFail);
  ASSERT_OK(store->ArchiveNow({.directory = dir / "archive"}));
  EXPECT_EQ(Check(Health(*store, t), "archive_lag").level, HealthLevel::kOk);
}

TEST(HealthTest, ASyncConsumerIsOneEntryBehindWhatItApplied) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  AddMessages(*store, 4);
  auto journal = store->GetJournalStatus();
  ASSERT_OK(journal);
  // Where a sync that applied every entry keeps its position (docs/sync.md).
  ASSERT_OK(store->SetJournalConsumer("postgres:db on host as u:public", journal->last_seq - 1));
  const HealthReport r = Health(*store);
  EXPECT_EQ(Check(r, "sync_lag").message, "1 PostgreSQL sync up to date");
  EXPECT_EQ(Check(r, "sync_lag").value, 0);
  ASSERT_OK(store->SetJournalConsumer("postgres:db on host as u:public", journal->last_seq - 3));
  HealthThresholds t;
  t.sync_lag_warn_us = 0;
  const HealthCheck c = Check(Health(*store, t), "sync_lag");
  EXPECT_EQ(c.level, HealthLevel::kWarn);
  EXPECT_NE(c.message.find("(2 entries not taken yet)"), std::string::npos) << c.message;
  EXPECT_EQ(Check(Health(*store, t), "archive_lag").message, "no archive");
}

TEST(HealthTest, DiskFreeWarnsAndFailsBelowItsThresholds) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  HealthThresholds t;
  t.disk_free_warn_bytes = INT64_MAX;
  EXPECT_EQ(Check(Health(*store, t), "disk_free").level, HealthLevel::kWarn);
  t.disk_free_fail_bytes = INT64_MAX;
  EXPECT_EQ(Check(Health(*store, t), "disk_free").level, HealthLevel::kFail);
}

TEST(HealthTest, BudgetsWarnNearTheirLimitAndFailAtTheHardLimit) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->UpsertTeam({.key = "netops"}));
  ASSERT_OK(store->UpsertUser({.key = "ana", .team_key = std::string("netops")}));
  ASSERT_OK(store->SetBudget({.name = "netops-day", .scope = "team", .scope_key = "netops", .period = "day",
                              .hard_limit_nanousd = 100 * kUsd}));
  ASSERT_OK(store->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 70 * kUsd}));
  EXPECT_EQ(Check(Health(*store), "budgets").level, HealthLevel::kOk);
  ASSERT_OK(store->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 15 * kUsd}));
  HealthCheck c = Check(Health(*store), "budgets");
  EXPECT_EQ(c.level, HealthLevel::kWarn);
  EXPECT_DOUBLE_EQ(c.value, 0.85);
  EXPECT_NE(c.message.find("'netops-day' 85%"), std::string::npos) << c.message;
  HealthThresholds t;
  t.budget_warn_fraction = 0.9;
  EXPECT_EQ(Check(Health(*store, t), "budgets").level, HealthLevel::kOk);
  ASSERT_OK(store->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 15 * kUsd}));
  c = Check(Health(*store), "budgets");
  EXPECT_EQ(c.level, HealthLevel::kFail);
  EXPECT_NE(c.message.find("at the hard limit: 'netops-day' 100%"), std::string::npos) << c.message;
}

TEST(HealthTest, AnErasureWaitingForAPinnedWalWarnsUntilItFinishes) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->UpsertUser({.key = "gone@example.com"}));
  auto conv = store->CreateConversation({.user_key = "gone@example.com"});
  ASSERT_OK(conv);
  ASSERT_OK(store->AddMessage(conv->id, {.role = Role::kUser, .content = "secret"}));
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.path().c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM messages;", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_OK(store->EraseUser("gone@example.com"));
  const HealthCheck c = Check(Health(*store), "erasures");
  EXPECT_EQ(c.level, HealthLevel::kWarn);
  EXPECT_EQ(c.value, 1);
  EXPECT_NE(c.message.find("WAL"), std::string::npos) << c.message;
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  ASSERT_OK(store->FinishErasures());
  EXPECT_EQ(Check(Health(*store), "erasures").level, HealthLevel::kOk);
}

TEST(HealthTest, DamageQuickCheckFindsIsAFailNotAnError) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    AddMessages(*store, 400, std::string(200, 'm'));
    ASSERT_OK(store->Optimize({}));  // everything in the file, the WAL empty
  }
  // A leaf page of the messages table overwritten: the schema and every table the open reads stay sound.
  const int64_t page_size = QueryInt(db.path(), "PRAGMA page_size");
  const int64_t leaf = QueryInt(db.path(), "SELECT max(pageno) FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf'");
  ASSERT_GT(leaf, 2);
  {
    std::fstream f(db.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((leaf - 1) * page_size);
    const std::string junk(static_cast<size_t>(page_size / 2), '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto store = OpenOrDie(db.path());
  const HealthReport r = Health(*store);
  EXPECT_EQ(r.level, HealthLevel::kFail);
  const HealthCheck& c = Check(r, "quick_check");
  EXPECT_EQ(c.level, HealthLevel::kFail);
  EXPECT_GE(c.value, 1);
  EXPECT_NE(c.message.find("quick_check found damage"), std::string::npos) << c.message;
}

TEST(HealthTest, BadThresholdsAreRefusedByName) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto refused = [&](HealthThresholds t, const std::string& words) {
    auto r = store->CheckHealth({.thresholds = t});
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(words), std::string::npos) << r.status().message();
  };
  HealthThresholds t;
  t.wal_warn_bytes = -1;
  refused(t, "wal_warn_bytes must be a number >= 0");
  t = {};
  t.wal_warn_bytes = t.wal_fail_bytes + 1;
  refused(t, "wal_warn_bytes must be at most wal_fail_bytes");
  t = {};
  t.disk_free_warn_bytes = 1;
  refused(t, "disk_free_warn_bytes must be at least disk_free_fail_bytes");
  t = {};
  t.free_pages_warn_fraction = 1.5;
  refused(t, "free_pages_warn_fraction must be at most 1");
  t = {};
  t.budget_warn_fraction = 1.5;  // past the hard limit, which fails at 1
  refused(t, "budget_warn_fraction must be at most 1");
  t = {};
  t.budget_warn_fraction = std::nan("");
  refused(t, "budget_warn_fraction must be a number >= 0");
  t = {};
  t.journal_lag_fail_entries = 5;
  refused(t, "journal_lag_warn_entries must be at most journal_lag_fail_entries");
}

TEST(HealthTest, ReadOnlyAndInMemoryStoresAreChecked) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    AddMessages(*store, 2);
  }
  Options read_only;
  read_only.read_only = true;
  read_only.create_if_missing = false;
  auto ro = OpenOrDie(db.path(), read_only);
  EXPECT_EQ(Health(*ro).level, HealthLevel::kOk);
  auto mem = OpenOrDie(ConversationStore::kInMemory);
  AddMessages(*mem, 2);
  const HealthReport r = Health(*mem);
  EXPECT_EQ(r.level, HealthLevel::kOk);
  EXPECT_EQ(Check(r, "wal_size").message, "in memory: no WAL");
  EXPECT_EQ(Check(r, "disk_free").message, "in memory");
  auto stats = mem->Stats({.saved = false});
  ASSERT_OK(stats);
  bool counted = false;
  for (const OperationStats& o : stats->operations) counted = counted || (o.name == "check_health" && o.calls == 1);
  EXPECT_TRUE(counted);
}

}  // namespace
}  // namespace convstore
