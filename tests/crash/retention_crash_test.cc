// kill -9 during retention: a child process applies retention in small batches (idle conversations, large ones
// in pieces, and old API usage) while a thread of it adds messages to a live conversation and reports each
// acknowledged one; the parent SIGKILLs it at a random moment, then checks the file: it passes CheckStore, the
// rollups verify against the raw rows plus the retained cost, the metadata index and the audit chain verify, the
// total spend equals everything ever written (nothing a run removed is lost from the reports, nothing is counted
// twice), a partly removed conversation keeps a contiguous newest part with a matching message_count, and every
// acknowledged live message is there. The parent seeds more old data whenever little is left.
//
// CONVSTORE_RETENTION_KILLS sets the number of kills (default 40).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "convstore/convstore.hpp"
#include "kill_child.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

constexpr Micros kDay = 86'400'000'000;
constexpr NanoUsd kOldCost = 7, kUsageCost = 13, kLiveCost = 1000;

int Kills() {
  const char* env = std::getenv("CONVSTORE_RETENTION_KILLS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 40;
}

Micros NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

[[noreturn]] void RunChild(const std::string& path, const std::string& live, int generation, int fd) {
  auto opened = ConversationStore::Open(path);
  if (!opened.ok()) ::_exit(3);
  auto& store = *opened;
  std::thread writer([&] {
    for (int k = 0;; ++k) {
      const std::string request_id = "live-" + std::to_string(generation) + "-" + std::to_string(k);
      auto added = store->AddMessage(live, {.content = "live " + request_id, .cost_nanousd = kLiveCost,
                                            .request_id = request_id});
      if (!added.ok()) ::_exit(4);
      const std::string line = request_id + "\n";
      if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(6);
      ::usleep(300);
    }
  });
  RetentionOptions o;
  o.batch_rows = 25;
  o.policy = RetentionPolicy{.conversations_idle_us = 90 * kDay, .api_usage_us = 90 * kDay};
  for (;;) {
    auto run = store->ApplyRetention(o);
    if (!run.ok()) ::_exit(5);
    if (run->conversations + run->messages + run->api_usage == 0) ::usleep(2000);
  }
}

TEST(RetentionCrash, KillsDuringRetentionLoseNoSpendAndLeaveNoPartialState) {
  TempDb db;
  std::string live;
  NanoUsd seeded = 0;  // old messages and API usage ever written (removed or not, still counted)
  {
    auto store = OpenOrDie(db.path());
    ASSERT_OK(store->UpsertTeam({.key = "netops"}));
    ASSERT_OK(store->UpsertUser({.key = "ana@example.com", .team_key = "netops"}));
    auto c = store->CreateConversation({.user_key = "ana@example.com", .title = "live"});
    ASSERT_OK(c);
    live = c->id;
  }
  std::mt19937 rng(99);
  std::set<std::string> acknowledged;
  const int kills = Kills();
  int seeded_conversations = 0;
  for (int done = 0; done < kills; ++done) {
    SCOPED_TRACE("kill " + std::to_string(done));
    if (QueryInt(db.path(), "SELECT count(*) FROM conversations") < 6) {
      auto store = OpenOrDie(db.path());
      const Micros old = NowUs() - 200 * kDay;
      for (int i = 0; i < 12; ++i, ++seeded_conversations) {
        auto c = store->CreateConversation({.user_key = i % 3 ? "ana@example.com" : "bo@example.com",
                                            .title = "old " + std::to_string(seeded_conversations),
                                            .metadata_json = R"({"topic":"old"})", .created_at = old});
        ASSERT_OK(c);
        const int n = i == 0 ? 140 : 1 + static_cast<int>(rng() % 40);
        std::vector<NewMessage> batch;
        for (int m = 0; m < n; ++m)
          batch.push_back({.content = "old message", .model = "gpt-4o", .tokens_input = 3, .cost_nanousd = kOldCost,
                           .metadata_json = m % 5 == 0 ? R"({"kind":"probe"})" : "{}", .created_at = old + m});
        ASSERT_OK(store->AddMessages(c->id, batch));
        seeded += n * kOldCost;
        ASSERT_OK(store->RecordApiUsage({.user_key = "ana@example.com", .conversation_id = c->id, .model = "gpt-4o",
                                         .cost_nanousd = kUsageCost, .recorded_at = old}));
        seeded += kUsageCost;
      }
    }
    const std::string reports = testing::RunAndKill(
        [&](int fd) { RunChild(db.path(), live, done, fd); }, static_cast<useconds_t>(5000 + rng() % 80000));
    if (::testing::Test::HasFailure()) break;
    std::istringstream in(reports);
    for (std::string id; in >> id;) acknowledged.insert(id);

    auto check = CheckStore(db.path());
    ASSERT_OK(check);
    ASSERT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
    auto store = OpenOrDie(db.path());
    auto rollups = store->VerifyRollups();
    ASSERT_OK(rollups);
    ASSERT_EQ(rollups->differences, 0) << (rollups->samples.empty() ? "" : rollups->samples[0]);
    auto index = store->VerifyMetadataIndex();
    ASSERT_OK(index);
    ASSERT_TRUE(index->consistent());
    auto audit = store->VerifyAudit();
    ASSERT_OK(audit);
    ASSERT_TRUE(audit->ok) << audit->problem;
    const int64_t live_messages =
        QueryInt(db.path(), "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                            " WHERE c.title = 'live'");
    auto total = store->GetCostSummary({.from = NowUs() - 400 * kDay, .to = NowUs() + kDay});
    ASSERT_OK(total);
    ASSERT_EQ(total->total_cost_nanousd, seeded + live_messages * kLiveCost);
    // A conversation retention was cutting keeps its newest messages, contiguous, and a count that matches.
    ASSERT_EQ(QueryInt(db.path(), std::string("SELECT count(*) FROM ") + testing::kConversationsAsRead + " c WHERE message_count <>"
                                  " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"),
              0);
    ASSERT_EQ(QueryInt(db.path(), std::string("SELECT count(*) FROM ") + testing::kConversationsAsRead + " c WHERE message_count > 0 AND"
                                  " (SELECT max(position) - min(position) + 1 FROM messages m"
                                  "  WHERE m.conversation_id = c.id) <> message_count"),
              0);
    ASSERT_OK(store->Close());
    std::set<std::string> present;
    {
      sqlite3* raw = nullptr;
      ASSERT_EQ(sqlite3_open_v2(db.path().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(raw, "SELECT request_id FROM messages WHERE request_id IS NOT NULL", -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) present.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      sqlite3_finalize(st);
      sqlite3_close(raw);
    }
    for (const std::string& id : acknowledged) ASSERT_TRUE(present.count(id)) << "acknowledged " << id << " lost";
  }
  std::printf("retention crash test: %d kills, %d old conversations seeded, %zu acknowledged live messages kept\n",
              kills, seeded_conversations, acknowledged.size());
}

}  // namespace
}  // namespace convstore
