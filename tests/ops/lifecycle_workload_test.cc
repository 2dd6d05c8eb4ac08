// A random workload over simulated months — conversations, messages (single and batched, with metadata and tool
// calls), API usage, message deletes and edits, conversation deletes, metrics and application audit events — with
// retention runs of random policies and batch sizes, and erasures of users (half of them exported first and imported
// back after), interleaved. After every run each verification is clean (cost
// rollups against the raw rows plus the retained cost, the metadata index, the audit chain), the total spend equals
// a model kept here (what was written, less what deleting conversations gave back; retention gives nothing back),
// and nothing that retention should have removed is left.
//
// CONVSTORE_LIFECYCLE_STEPS sets the number of operations (default 3000).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::ClockEnv;
using testing::QueryInt;
using testing::TempDb;

constexpr Micros kT0 = 1'770'000'000'000'000;  // 2026-02-02
constexpr Micros kHour = 3'600'000'000;
constexpr Micros kDay = 24 * kHour;

int Steps() {
  const char* env = std::getenv("CONVSTORE_LIFECYCLE_STEPS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 3000;
}

// The rollups (against the raw rows plus the retained cost), the metadata index and the audit chain verify, and
// the spend over `range` is the model's.
void ExpectEverythingVerifies(ConversationStore& s, const CostFilter& range, NanoUsd spent) {
  auto rollups = s.VerifyRollups();
  ASSERT_OK(rollups);
  ASSERT_EQ(rollups->differences, 0) << (rollups->samples.empty() ? "" : rollups->samples[0]);
  auto index = s.VerifyMetadataIndex();
  ASSERT_OK(index);
  ASSERT_TRUE(index->consistent());
  auto audit = s.VerifyAudit();
  ASSERT_OK(audit);
  ASSERT_TRUE(audit->ok) << audit->problem;
  auto total = s.GetCostSummary(range);
  ASSERT_OK(total);
  ASSERT_EQ(total->total_cost_nanousd, spent);
}

TEST(LifecycleWorkload, RetentionAndErasuresInterleavedKeepEveryVerificationClean) {
  TempDb db;
  std::atomic<Micros> now{kT0};
  ClockEnv env([&] { return now.fetch_add(1); });
  Options o;
  o.env = &env;
  auto opened = ConversationStore::Open(db.path(), o);
  ASSERT_OK(opened);
  auto& s = *opened;
  std::mt19937_64 rng(20261201);
  std::vector<std::string> users = {"ana@example.com", "bo@example.com", "cy@example.com"};
  ASSERT_OK(s->UpsertTeam({.key = "netops"}));
  ASSERT_OK(s->UpsertUser({.key = users[0], .team_key = "netops"}));
  std::vector<std::string> conversations;
  std::vector<std::string> messages;
  NanoUsd spent = 0;  // the model: everything written, less what conversation deletes gave back
  int runs = 0, erasures = 0, imports = 0;
  int64_t removed_conversations = 0, removed_messages = 0, removed_usage = 0, removed_metrics = 0;
  const int steps = Steps();
  for (int step = 0; step < steps; ++step) {
    now = now.load() + static_cast<Micros>(rng() % (3 * kHour));  // about 60 days over the default run
    const uint64_t op = rng() % 100;
    auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    if (op < 10 || conversations.empty()) {
      auto c = s->CreateConversation({.user_key = pick(users), .title = "c" + std::to_string(step),
                                      .metadata_json = rng() % 2 ? R"({"topic":"bgp"})" : "{}"});
      ASSERT_OK(c);
      conversations.push_back(c->id);
    } else if (op < 45) {
      const NanoUsd cost = static_cast<NanoUsd>(rng() % 100'000);
      auto m = s->AddMessage(pick(conversations),
                             {.role = rng() % 2 ? Role::kUser : Role::kAssistant, .content = "m" + std::to_string(step),
                              .model = rng() % 2 ? "gpt-4o" : "claude-sonnet-4-5",
                              .tokens_input = static_cast<int64_t>(rng() % 1000), .cost_nanousd = cost,
                              .latency_us = static_cast<int64_t>(rng() % 900'000),
                              .metadata_json = rng() % 3 ? "{}" : R"({"kind":"probe","n":)" + std::to_string(step % 7) + "}"});
      if (m.ok()) {
        spent += cost;
        messages.push_back(m->id);
      } else {
        ASSERT_EQ(m.status().code(), Code::kNotFound);  // its conversation went (deleted or retained)
      }
    } else if (op < 55) {
      std::vector<NewMessage> batch(1 + rng() % 40);
      NanoUsd cost = 0;
      for (auto& m : batch) {
        m.content = "batch " + std::to_string(step);
        m.cost_nanousd = static_cast<NanoUsd>(rng() % 1000);
        cost += *m.cost_nanousd;
      }
      auto added = s->AddMessages(pick(conversations), batch);
      if (added.ok()) {
        spent += cost;
        if (rng() % 3 == 0) ASSERT_OK(s->AddToolCall(added->front().id, {.tool_name = "lookup"}));
      }
    } else if (op < 65) {
      const NanoUsd cost = static_cast<NanoUsd>(rng() % 50'000);
      const std::string conv = rng() % 2 ? pick(conversations) : "";
      auto u = s->RecordApiUsage({.user_key = pick(users), .conversation_id = conv, .model = "gpt-4o",
                                  .cost_nanousd = cost, .status = rng() % 9 ? "success" : "error",
                                  .metadata_json = rng() % 4 ? "{}" : R"({"kind":"probe"})"});
      if (u.ok()) spent += cost;
    } else if (op < 70 && !messages.empty()) {
      auto d = s->DeleteMessage(pick(messages));  // a tombstone keeps its spend
      if (!d.ok()) {
        ASSERT_EQ(d.status().code(), Code::kNotFound);
      }
    } else if (op < 73 && !messages.empty()) {
      auto e = s->EditMessage(pick(messages), {.metadata_json = R"({"kind":"edited"})"});
      if (!e.ok()) {
        ASSERT_EQ(e.status().code(), Code::kNotFound);
      }
    } else if (op < 76) {
      const std::string conv = pick(conversations);
      auto info = s->GetConversationInfo(conv);
      if (info.ok()) {
        ASSERT_OK(s->DeleteConversation(conv));
        spent -= info->cost_nanousd;  // a delete gives its messages' spend back
      }
    } else if (op < 78 && users.size() > 1) {
      // Erase a user: their rows go, their spend stays; a new user takes their place in the workload. Half the
      // time the user was exported first and comes back by an import: their rows return, the spend counted once.
      const size_t i = rng() % users.size();
      const bool round_trip = rng() % 2 == 0;
      std::string exported;
      if (round_trip) {
        auto e = s->ExportUser(users[i], {.sink = [&](std::string_view chunk) {
                                           exported.append(chunk);
                                           return Status::OK();
                                         }});
        if (!e.ok()) {
          ASSERT_EQ(e.status().code(), Code::kNotFound);
          exported.clear();
        }
      }
      auto erased = s->EraseUser(users[i]);
      if (erased.ok() && !exported.empty()) {
        auto imported = s->ImportUser(testing::ImportFromString(exported));
        ASSERT_OK(imported);
        ASSERT_TRUE(imported->restored_erased_user);
        ++imports;
      }
      if (erased.ok()) {
        ++erasures;
        SCOPED_TRACE("erasure at step " + std::to_string(step));
        ExpectEverythingVerifies(*s, {.from = kT0 - kDay, .to = now.load() + kDay}, spent);
        if (::testing::Test::HasFatalFailure()) return;
      } else {
        ASSERT_EQ(erased.status().code(), Code::kNotFound);  // a key the workload never wrote with
      }
      if (exported.empty() || !erased.ok()) users[i] = "user" + std::to_string(step) + "@example.com";
    } else if (op < 86) {
      ASSERT_OK(s->RecordMetric({.type = "latency", .name = "api.ms", .value = static_cast<double>(rng() % 1000)}));
    } else if (op < 90) {
      ASSERT_OK(s->LogEvent({.action = "app.step", .resource_type = "step", .resource_id = std::to_string(step)}));
    } else if (op < 93) {
      // A retention run with a random policy and batch size.
      RetentionPolicy policy;
      if (rng() % 2) policy.conversations_idle_us = static_cast<Micros>(1 + rng() % 20) * kDay;
      if (rng() % 2) policy.api_usage_us = static_cast<Micros>(1 + rng() % 20) * kDay;
      if (rng() % 2) policy.metrics_us = static_cast<Micros>(1 + rng() % 20) * kDay;
      if (rng() % 3 == 0) policy.audit_us = static_cast<Micros>(5 + rng() % 20) * kDay;
      if (rng() % 3 == 0) policy.journal_us = static_cast<Micros>(1 + rng() % 20) * kDay;
      auto report = s->ApplyRetention({.batch_rows = static_cast<int64_t>(1 + rng() % 60), .policy = policy});
      ASSERT_OK(report);
      ++runs;
      removed_conversations += report->conversations;
      removed_messages += report->messages;
      removed_usage += report->api_usage;
      removed_metrics += report->metrics;
      SCOPED_TRACE("retention run " + std::to_string(runs) + " at step " + std::to_string(step));
      ExpectEverythingVerifies(*s, {.from = kT0 - kDay, .to = now.load() + kDay}, spent);
      if (::testing::Test::HasFatalFailure()) return;
      const Micros at = report->started_at;
      if (policy.conversations_idle_us) {
        ASSERT_EQ(QueryInt(db.path(), std::string("SELECT count(*) FROM ") + testing::kConversationsAsRead + " c WHERE updated_at < " +
                                          std::to_string(at - *policy.conversations_idle_us)),
                  0);
      }
      if (policy.api_usage_us) {
        ASSERT_EQ(QueryInt(db.path(), "SELECT count(*) FROM api_usage WHERE recorded_at < " +
                                          std::to_string(at - *policy.api_usage_us)),
                  0);
      }
      if (policy.metrics_us) {
        ASSERT_EQ(QueryInt(db.path(), "SELECT count(*) FROM metrics WHERE at < " +
                                          std::to_string(at - *policy.metrics_us)),
                  0);
      }
    }
  }
  std::printf("lifecycle workload: %d erasures (%d imported back); ", erasures, imports);
  EXPECT_GT(imports, 0);
  std::printf("lifecycle workload: %d steps, %d retention runs removed %lld conversations, %lld messages, %lld API "
              "usage rows, %lld metric points\n",
              steps, runs, static_cast<long long>(removed_conversations), static_cast<long long>(removed_messages),
              static_cast<long long>(removed_usage), static_cast<long long>(removed_metrics));
  EXPECT_GT(runs, 10);
  EXPECT_GT(erasures, 5);
  EXPECT_GT(removed_conversations, 0);
  EXPECT_GT(removed_messages, 0);
  auto rebuilt = s->RebuildRollups();
  ASSERT_OK(rebuilt);
  auto total = s->GetCostSummary({.from = kT0 - kDay, .to = now.load() + kDay});
  ASSERT_OK(total);
  EXPECT_EQ(total->total_cost_nanousd, spent);
}

}  // namespace
}  // namespace convstore
