// Statistics: each public operation's calls, errors, rows and times, counted by the handle; saved in the file when
// a handle closes and merged with the next handle's; reset; the page cache, WAL and checkpoint counters; a saved
// table changed by another program is refused, not reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::AddMessages;
using testing::ExecOnFile;
using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

const OperationStats* Find(const StoreStats& stats, const std::string& name) {
  for (const OperationStats& o : stats.operations)
    if (o.name == name) return &o;
  return nullptr;
}

TEST(StatisticsTest, CountsCallsErrorsRowsAndTimes) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  const std::string id = AddMessages(*store, 5);
  ASSERT_TRUE(store->GetConversation(id).ok());
  EXPECT_FALSE(store->AddMessage("no-such-conversation", {.role = Role::kUser, .content = "x"}).ok());
  EXPECT_FALSE(store->GetConversation("").ok());

  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  const OperationStats* add = Find(*stats, "add_message");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->calls, 6);
  EXPECT_EQ(add->errors, 1);
  EXPECT_EQ(add->rows, 5);
  EXPECT_GT(add->total_us, 0);
  EXPECT_GT(add->min_us, 0);
  EXPECT_LE(add->min_us, add->mean_us);
  EXPECT_LE(add->mean_us, add->max_us);
  EXPECT_NEAR(add->mean_us * 6, add->total_us, 1e-6 * add->total_us);
  EXPECT_GE(add->stddev_us, 0);
  const OperationStats* get = Find(*stats, "get_conversation");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->calls, 2);
  EXPECT_EQ(get->errors, 1);
  EXPECT_EQ(get->rows, 5);  // the messages it returned
  ASSERT_NE(Find(*stats, "create_conversation"), nullptr);
  EXPECT_EQ(Find(*stats, "create_conversation")->rows, 1);
  EXPECT_EQ(Find(*stats, "list_conversations"), nullptr);  // never called
  for (size_t i = 1; i < stats->operations.size(); ++i)
    EXPECT_GE(stats->operations[i - 1].total_us, stats->operations[i].total_us);
  EXPECT_GT(stats->cache_hits + stats->cache_misses, 0);
  EXPECT_GT(stats->cache_writes + stats->wal_bytes, 0);
  EXPECT_GT(stats->wal_bytes, 0);
  EXPECT_GT(stats->since, 0);
}

TEST(StatisticsTest, OperationsAreNamedByThePublicMethods) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->VerifyRollups());
  ASSERT_OK(store->RebuildRollups());
  ASSERT_OK(store->GetCostSummary({}));
  ASSERT_OK(store->SetMetadataExcludedPaths({"secret"}));
  ASSERT_OK(store->RebuildMetadataIndex());
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  std::vector<std::string> names;
  for (const OperationStats& o : stats->operations) names.push_back(o.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"get_cost_summary", "rebuild_metadata_index", "rebuild_rollups",
                                             "set_metadata_excluded_paths", "verify_rollups"}));
}

TEST(StatisticsTest, StandardDeviationIsThePopulations) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(store->GetUser("nobody").ok());
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  const OperationStats* get = Find(*stats, "get_user");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->calls, 3);
  // Three samples between min and max: the population standard deviation is at most half their range.
  EXPECT_LE(get->stddev_us, (get->max_us - get->min_us) / 2 + 1e-6);
}

TEST(StatisticsTest, SavedWhenAHandleClosesAndMergedWithTheNext) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    AddMessages(*store, 3);
    ASSERT_OK(store->Close());
  }
  EXPECT_EQ(QueryInt(db.path(), "SELECT calls FROM operation_stats WHERE name = 'add_message'"), 3);
  auto store = OpenOrDie(db.path());
  AddMessages(*store, 2);
  auto all = store->Stats();
  ASSERT_OK(all);
  ASSERT_NE(Find(*all, "add_message"), nullptr);
  EXPECT_EQ(Find(*all, "add_message")->calls, 5);
  EXPECT_EQ(Find(*all, "create_conversation")->calls, 2);
  auto mine = store->Stats({.saved = false});
  ASSERT_OK(mine);
  EXPECT_EQ(Find(*mine, "add_message")->calls, 2);
  EXPECT_LE(all->since, mine->since);  // the first handle's opening
  ASSERT_OK(store->Close());
  EXPECT_EQ(QueryInt(db.path(), "SELECT calls FROM operation_stats WHERE name = 'add_message'"), 5);
  EXPECT_EQ(QueryInt(db.path(), "SELECT calls FROM operation_stats WHERE name = 'stats'"), 2);
}

TEST(StatisticsTest, ResetZeroesThisHandleAndTheSavedCounters) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    AddMessages(*store, 3);
  }
  auto store = OpenOrDie(db.path());
  AddMessages(*store, 1);
  auto before = store->Stats();
  ASSERT_OK(before);
  ASSERT_OK(store->ResetStats());
  auto after = store->Stats();
  ASSERT_OK(after);
  EXPECT_EQ(Find(*after, "add_message"), nullptr);
  ASSERT_NE(Find(*after, "reset_stats"), nullptr);  // the reset itself, as pg_stat_statements counts its own
  EXPECT_GE(after->since, before->since);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM operation_stats"), 0);
}

TEST(StatisticsTest, ReadOnlyAndInMemoryStoresCountButSaveNothing) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    AddMessages(*store, 1);
  }
  {
    auto ro = OpenOrDie(db.path(), {.read_only = true});
    ASSERT_OK(ro->ListConversations({.user_key = "ana"}));
    auto stats = ro->Stats();
    ASSERT_OK(stats);
    EXPECT_EQ(Find(*stats, "list_conversations")->calls, 1);
    EXPECT_EQ(Find(*stats, "add_message")->calls, 1);  // saved by the first handle
    ASSERT_OK(ro->ResetStats());  // its own counters only
    EXPECT_EQ(Find(*ro->Stats({.saved = false}), "list_conversations"), nullptr);
  }
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM operation_stats WHERE name = 'list_conversations'"), 0);
  auto memory = OpenOrDie(std::string(ConversationStore::kInMemory));
  AddMessages(*memory, 2);
  auto stats = memory->Stats();
  ASSERT_OK(stats);
  EXPECT_EQ(Find(*stats, "add_message")->calls, 2);
  EXPECT_EQ(stats->wal_bytes, 0);
}

TEST(StatisticsTest, CountsAutomaticAndExplicitCheckpoints) {
  TempDb db;
  // No indexing transaction may write the WAL after optimize empties it, and the automatic checkpoint is the
  // committing thread's, counted before the commit returns.
  auto store = OpenOrDie(db.path(), testing::NoBackgroundThreads());
  auto conv = store->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  // Enough WAL frames (4,000) for the automatic checkpoint after a commit.
  const std::string big(16 * 1024, 'x');
  std::vector<NewMessage> batch(100, NewMessage{.role = Role::kUser, .content = big});
  for (int i = 0; i < 12; ++i) ASSERT_OK(store->AddMessages(conv->id, batch));
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  EXPECT_GE(stats->checkpoints, 1);
  const int64_t automatic = stats->checkpoints;
  ASSERT_OK(store->Optimize({}));
  stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  EXPECT_EQ(stats->checkpoints, automatic + 1);
  EXPECT_EQ(stats->wal_bytes, 0);  // optimize emptied it
}

TEST(StatisticsTest, ManyThreadsCountEveryCall) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  const std::string id = AddMessages(*store, 1);
  ASSERT_OK(store->ResetStats());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(store->GetConversationInfo(id).ok());
        EXPECT_TRUE(store->AddMessage(id, {.role = Role::kUser, .content = "m"}).ok());
      }
    });
  for (auto& t : threads) t.join();
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  EXPECT_EQ(Find(*stats, "get_conversation_info")->calls, 200);
  EXPECT_EQ(Find(*stats, "add_message")->calls, 200);
  EXPECT_EQ(Find(*stats, "add_message")->rows, 200);
}

TEST(StatisticsTest, CallsRacingWithCloseAreSavedExactly) {
  TempDb db;
  int64_t succeeded = 0;
  {
    auto store = OpenOrDie(db.path());
    const std::string id = AddMessages(*store, 1);
    ASSERT_OK(store->ResetStats());
    std::atomic<int64_t> ok{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (;;) {
          auto r = store->AddMessage(id, {.role = Role::kUser, .content = "racing"});
          if (!r.ok()) {
            EXPECT_EQ(r.status().code(), Code::kClosed) << r.status().ToString();
            return;
          }
          ++ok;
        }
      });
    go = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_OK(store->Close());
    for (auto& t : threads) t.join();
    succeeded = ok.load();
  }
  ASSERT_GT(succeeded, 0);
  auto store = OpenOrDie(db.path());
  auto stats = store->Stats();
  ASSERT_OK(stats);
  const OperationStats* add = Find(*stats, "add_message");
  ASSERT_NE(add, nullptr);
  // Every call that succeeded was counted and saved; calls the close refused count as errors or not at all.
  EXPECT_EQ(add->calls - add->errors, succeeded);
  EXPECT_EQ(add->rows, succeeded);
}

TEST(StatisticsTest, SavedCountersChangedByAnotherProgramAreRefused) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    AddMessages(*store, 1);
  }
  ExecOnFile(db.path(), "UPDATE operation_stats SET calls = -5 WHERE name = 'add_message'");
  auto store = OpenOrDie(db.path());
  auto stats = store->Stats();
  EXPECT_EQ(stats.status().code(), Code::kCorruption) << stats.status().ToString();
  ASSERT_OK(store->Stats({.saved = false}));
  ExecOnFile(db.path(), "UPDATE operation_stats SET calls = 1, name = 'Robert''); DROP' WHERE name = 'add_message'");
  EXPECT_EQ(store->Stats().status().code(), Code::kCorruption);
  ExecOnFile(db.path(), "UPDATE operation_stats SET name = 'add_message', errors = 2 WHERE name LIKE 'Robert%'");  // more errors than calls
  EXPECT_EQ(store->Stats().status().code(), Code::kCorruption);
  ExecOnFile(db.path(), "UPDATE operation_stats SET errors = 0, calls = 9223372036854775807 WHERE name = 'add_message'");  // would overflow a sum
  AddMessages(*store, 1);  // this handle's add_message added to the saved one's
  EXPECT_EQ(store->Stats().status().code(), Code::kCorruption);
  ASSERT_OK(store->ResetStats());
  ASSERT_OK(store->Stats());
}

TEST(StatisticsTest, CountingTurnedOffCountsNothingAndKeepsWhatWasCounted) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  const std::string id = AddMessages(*store, 2);
  ASSERT_OK(store->SetStatsEnabled(false));
  ASSERT_OK(store->AddMessage(id, {.role = Role::kUser, .content = "not counted"}));
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  EXPECT_EQ(Find(*stats, "add_message")->calls, 2);
  EXPECT_EQ(Find(*stats, "stats"), nullptr);
  ASSERT_OK(store->SetStatsEnabled(true));
  ASSERT_OK(store->AddMessage(id, {.role = Role::kUser, .content = "counted"}));
  EXPECT_EQ(Find(*store->Stats({.saved = false}), "add_message")->calls, 3);
}

TEST(StatisticsTest, ClosedStoreRefuses) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->Close());
  EXPECT_EQ(store->Stats().status().code(), Code::kClosed);
  EXPECT_EQ(store->ResetStats().code(), Code::kClosed);
  EXPECT_EQ(store->SetStatsEnabled(false).code(), Code::kClosed);
}

}  // namespace
}  // namespace convstore
