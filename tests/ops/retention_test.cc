// Retention: idle conversations (large ones in pieces), API usage, metrics, audit entries and the journal removed in
// bounded batches; what the removed rows spent stays in every cost report and verify_rollups stays clean (also
// after a rebuild); the metadata index and the audit chain verify; the policy is stored and validated; the
// schedule runs and stops; bad input writes nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::ClockEnv;
using testing::QueryInt;
using testing::TempDb;

constexpr Micros kT0 = 1'780'000'000'000'000;  // 2026-05-28
constexpr Micros kDay = 86'400'000'000;

struct Fixture {
  TempDb db;
  std::atomic<Micros> now{kT0};
  ClockEnv env{[this] { return now.fetch_add(1); }};
  std::unique_ptr<ConversationStore> store;

  Fixture() {
    Options o;
    o.env = &env;
    auto opened = ConversationStore::Open(db.path(), o);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    store = std::move(*opened);
  }

  std::string Conversation(const std::string& user, const std::string& title, int messages, int with_tools = 0) {
    auto c = store->CreateConversation({.user_key = user, .title = title, .metadata_json = R"({"topic":"bgp"})"});
    EXPECT_TRUE(c.ok());
    std::vector<NewMessage> batch;
    for (int i = 0; i < messages; ++i)
      batch.push_back({.role = i % 2 ? Role::kAssistant : Role::kUser, .content = title + " message " + std::to_string(i),
                       .model = i % 3 ? "gpt-4o" : "claude-sonnet-4-5", .tokens_input = 10 + i, .tokens_output = 5,
                       .cost_nanousd = 1000 + i, .latency_us = 2000 + i * 10,
                       .metadata_json = i % 4 == 0 ? R"({"kind":"probe"})" : "{}"});
    for (size_t from = 0; from < batch.size(); from += 500) {
      std::vector<NewMessage> part(batch.begin() + static_cast<long>(from),
                                   batch.begin() + static_cast<long>(std::min(batch.size(), from + 500)));
      auto added = store->AddMessages(c->id, part);
      EXPECT_TRUE(added.ok()) << added.status().ToString();
      if (from == 0) {
        for (int t = 0; t < with_tools && t < static_cast<int>(added->size()); ++t)
          EXPECT_TRUE(store->AddToolCall((*added)[static_cast<size_t>(t)].id, {.tool_name = "lookup"}).ok());
      }
    }
    return c->id;
  }
};

CostFilter Everything() { return CostFilter{.from = kT0 - kDay, .to = kT0 + 400 * kDay}; }

// Every report a retention run must leave unchanged.
struct Reports {
  CostSummary all, user, team, api, offset;
  CostGroupResult by_model;
  bool operator==(const Reports& o) const {
    auto same = [](const CostSummary& a, const CostSummary& b) {
      if (a.total_cost_nanousd != b.total_cost_nanousd || a.total_messages != b.total_messages ||
          a.daily.size() != b.daily.size())
        return false;
      for (size_t i = 0; i < a.daily.size(); ++i)
        if (a.daily[i].date != b.daily[i].date || a.daily[i].cost_nanousd != b.daily[i].cost_nanousd ||
            a.daily[i].message_count != b.daily[i].message_count || a.daily[i].tokens_input != b.daily[i].tokens_input)
          return false;
      return true;
    };
    if (!same(all, o.all) || !same(user, o.user) || !same(team, o.team) || !same(api, o.api) ||
        !same(offset, o.offset) || by_model.groups.size() != o.by_model.groups.size())
      return false;
    for (size_t i = 0; i < by_model.groups.size(); ++i) {
      const auto &a = by_model.groups[i], &b = o.by_model.groups[i];
      if (a.keys != b.keys || a.count != b.count || a.cost_nanousd != b.cost_nanousd ||
          a.tokens_input != b.tokens_input || a.latency_count != b.latency_count || a.latency_sum_us != b.latency_sum_us)
        return false;
    }
    return true;
  }
};

Reports ReadReports(ConversationStore& s) {
  Reports r;
  auto get = [&](CostFilter f) {
    auto v = s.GetCostSummary(f);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : CostSummary{};
  };
  r.all = get(Everything());
  CostFilter f = Everything();
  f.user_key = "ana@example.com";
  r.user = get(f);
  f = Everything();
  f.team_key = "netops";
  r.team = get(f);
  f = Everything();
  f.source = "api";
  r.api = get(f);
  f = Everything();
  f.utc_offset_minutes = -300;  // read from the raw rows (and the retained cost)
  f.user_key = "ana@example.com";
  r.offset = get(f);
  auto g = s.GroupCosts(Everything(), {"model", "user", "day"});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (g.ok()) r.by_model = *g;
  return r;
}

TEST(Retention, RemovesIdleDataInBatchesAndKeepsEveryCostReport) {
  Fixture f;
  ConversationStore& s = *f.store;
  ASSERT_OK(s.UpsertTeam({.key = "netops"}));
  ASSERT_OK(s.UpsertUser({.key = "ana@example.com", .team_key = "netops"}));
  const std::string old1 = f.Conversation("ana@example.com", "old one", 40, 3);
  const std::string old2 = f.Conversation("bo@example.com", "old two", 7);
  const std::string large = f.Conversation("ana@example.com", "large", 2500, 2);
  const std::string revived = f.Conversation("ana@example.com", "revived", 5);
  // A deleted message leaves a tombstone, which goes with its conversation.
  auto two = s.GetConversation(old2);
  ASSERT_OK(two);
  ASSERT_OK(s.DeleteMessage(two->messages[0].id));
  ASSERT_OK(s.RecordApiUsage({.user_key = "ana@example.com", .conversation_id = old1, .model = "gpt-4o",
                              .tokens_input = 100, .cost_nanousd = 55'000, .latency_us = 900,
                              .metadata_json = R"({"kind":"probe"})"}));
  ASSERT_OK(s.RecordApiUsage({.user_key = "bo@example.com", .model = "gpt-4o", .cost_nanousd = 7,
                              .status = "error"}));
  ASSERT_OK(s.RecordMetric({.type = "latency", .name = "api.ms", .value = 1, .at = kT0}));

  // 100 days later: one old conversation is written to again; new rows arrive.
  f.now = kT0 + 100 * kDay;
  ASSERT_OK(s.AddMessage(revived, {.content = "back again", .cost_nanousd = 3}));
  const std::string fresh = f.Conversation("ana@example.com", "fresh", 3);
  ASSERT_OK(s.RecordApiUsage({.user_key = "ana@example.com", .model = "gpt-4o", .cost_nanousd = 11}));
  ASSERT_OK(s.RecordMetric({.type = "latency", .name = "api.ms", .value = 2}));
  const Reports before = ReadReports(s);
  ASSERT_GT(before.all.total_cost_nanousd, 0);

  ASSERT_OK(s.SetRetentionPolicy({.conversations_idle_us = 90 * kDay, .api_usage_us = 90 * kDay,
                                  .metrics_us = 30 * kDay}));
  std::vector<int64_t> seen;
  auto report = s.ApplyRetention({.batch_rows = 1000, .on_progress = [&](const RetentionProgress& p) {
                                    seen.push_back(p.rows_done);
                                  }});
  ASSERT_OK(report);
  EXPECT_EQ(report->conversations, 3);
  EXPECT_EQ(report->messages, 40 + 6 + 2500);  // old2 lost one message to the delete earlier
  EXPECT_EQ(report->tool_calls, 3 + 2);
  EXPECT_EQ(report->tombstones, 1);
  EXPECT_EQ(report->api_usage, 2);
  EXPECT_EQ(report->metrics, 1);
  EXPECT_GE(report->batches, 5);  // the large conversation alone takes three
  EXPECT_GT(report->longest_batch_us, 0);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 3 + 2546 + 2 + 1);

  EXPECT_CODE(s.GetConversation(old1), Code::kNotFound);
  EXPECT_CODE(s.GetConversation(old2), Code::kNotFound);
  EXPECT_CODE(s.GetConversation(large), Code::kNotFound);
  auto kept = s.GetConversation(revived);
  ASSERT_OK(kept);
  EXPECT_EQ(kept->messages.size(), 6u);
  ASSERT_OK(s.GetConversation(fresh));
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM tool_calls"), 0);
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM message_tombstones"), 0);
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM api_usage"), 1);
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM metrics"), 1);
  EXPECT_GT(QueryInt(f.db.path(), "SELECT count(*) FROM cost_retained"), 0);

  // What was spent is still reported, and the rollups verify against the raw rows plus the retained cost.
  EXPECT_TRUE(ReadReports(s) == before);
  auto verify = s.VerifyRollups();
  ASSERT_OK(verify);
  EXPECT_EQ(verify->differences, 0) << (verify->samples.empty() ? "" : verify->samples[0]);
  auto rebuilt = s.RebuildRollups();
  ASSERT_OK(rebuilt);
  EXPECT_TRUE(ReadReports(s) == before);
  auto index = s.VerifyMetadataIndex();
  ASSERT_OK(index);
  EXPECT_TRUE(index->consistent());
  auto probes = s.SearchMetadata({.target = MetadataTarget::kMessages, .contains_json = R"({"kind":"probe"})",
                                  .limit = 100});
  ASSERT_OK(probes);
  for (const Message& m : probes->messages) EXPECT_TRUE(m.conversation_id == revived || m.conversation_id == fresh);
  auto usage = s.SearchMetadata({.target = MetadataTarget::kApiUsage, .contains_json = R"({"kind":"probe"})"});
  ASSERT_OK(usage);
  EXPECT_TRUE(usage->api_usage.empty());

  // Each batch left an audit entry; the chain verifies.
  auto audit = s.ReadAudit({.action = "retention.applied", .limit = 1000});
  ASSERT_OK(audit);
  EXPECT_GE(static_cast<int64_t>(audit->entries.size()), 5);
  auto chain = s.VerifyAudit();
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;

  // A second run finds nothing and writes nothing.
  const int64_t entries = QueryInt(f.db.path(), "SELECT count(*) FROM audit_log");
  auto again = s.ApplyRetention();
  ASSERT_OK(again);
  EXPECT_EQ(again->conversations + again->messages + again->api_usage + again->metrics, 0);
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM audit_log"), entries);
}

TEST(Retention, BudgetsKeepCountingWhatRemovedRowsSpent) {
  Fixture f;
  ConversationStore& s = *f.store;
  ASSERT_OK(s.UpsertTeam({.key = "netops"}));
  ASSERT_OK(s.UpsertUser({.key = "ana@example.com", .team_key = "netops"}));
  f.Conversation("ana@example.com", "spent", 10);
  ASSERT_OK(s.SetBudget({.name = "team", .scope = "team", .scope_key = "netops", .period = "month",
                         .hard_limit_nanousd = 1'000'000'000}));
  auto before = s.GetBudgets(0);
  ASSERT_OK(before);
  f.now = f.now.load() + 2 * kDay;
  ASSERT_OK(s.ApplyRetention({.policy = RetentionPolicy{.conversations_idle_us = kDay}}));
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM messages"), 0);
  auto after = s.GetBudgets(0);
  ASSERT_OK(after);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].spent_nanousd, (*before)[0].spent_nanousd);
  EXPECT_GT((*after)[0].spent_nanousd, 0);
}

TEST(Retention, PolicyIsStoredWithTheJournalsAgeLimit) {
  Fixture f;
  ConversationStore& s = *f.store;
  auto empty = s.GetRetentionPolicy();
  ASSERT_OK(empty);
  EXPECT_FALSE(empty->conversations_idle_us || empty->api_usage_us || empty->metrics_us || empty->audit_us ||
               empty->journal_us);
  ASSERT_OK(s.SetJournalRetention({.max_bytes = 1 << 20}));
  ASSERT_OK(s.SetRetentionPolicy({.conversations_idle_us = 90 * kDay, .audit_us = 365 * kDay,
                                  .journal_us = 7 * kDay}));
  auto got = s.GetRetentionPolicy();
  ASSERT_OK(got);
  EXPECT_EQ(got->conversations_idle_us, 90 * kDay);
  EXPECT_FALSE(got->api_usage_us);
  EXPECT_FALSE(got->metrics_us);
  EXPECT_EQ(got->audit_us, 365 * kDay);
  EXPECT_EQ(got->journal_us, 7 * kDay);
  auto journal = s.GetJournalStatus();
  ASSERT_OK(journal);
  EXPECT_EQ(journal->retention.max_age_us, 7 * kDay);
  EXPECT_EQ(journal->retention.max_bytes, 1 << 20);  // kept
  auto entry = s.ReadAudit({.action = "retention.policy_set"});
  ASSERT_OK(entry);
  ASSERT_EQ(entry->entries.size(), 1u);

  // Another handle (another process would do the same) reads the same policy.
  f.store.reset();
  auto other = testing::OpenOrDie(f.db.path());
  auto read = other->GetRetentionPolicy();
  ASSERT_OK(read);
  EXPECT_EQ(read->conversations_idle_us, 90 * kDay);
}

TEST(Retention, BadInputIsRefusedAndWritesNothing) {
  Fixture f;
  ConversationStore& s = *f.store;
  const int64_t entries = QueryInt(f.db.path(), "SELECT count(*) FROM audit_log");
  for (Micros age : {Micros{0}, Micros{-1}, Micros{999'999}, 36'526 * kDay}) {
    EXPECT_CODE(s.SetRetentionPolicy({.metrics_us = age}), Code::kInvalidArgument);
    EXPECT_CODE(s.SetRetentionPolicy({.journal_us = age}), Code::kInvalidArgument);
    EXPECT_CODE(s.ApplyRetention({.policy = RetentionPolicy{.conversations_idle_us = age}}), Code::kInvalidArgument);
  }
  for (int64_t rows : {int64_t{0}, int64_t{-5}, int64_t{100'001}})
    EXPECT_CODE(s.ApplyRetention({.batch_rows = rows}), Code::kInvalidArgument);
  EXPECT_CODE(s.StartRetention(0), Code::kInvalidArgument);
  EXPECT_CODE(s.StopRetention(), Code::kNotFound);
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM meta WHERE key = 'retention_policy'"), 0);
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM audit_log"), entries);
  auto journal = s.GetJournalStatus();
  ASSERT_OK(journal);
  EXPECT_FALSE(journal->retention.max_age_us);

  // A read-only handle cannot apply it.
  ASSERT_OK(s.SetRetentionPolicy({.metrics_us = kDay}));
  Options ro;
  ro.read_only = true;
  auto reader = testing::OpenOrDie(f.db.path(), ro);
  EXPECT_CODE(reader->ApplyRetention(), Code::kReadOnly);
  EXPECT_CODE(reader->StartRetention(kDay), Code::kReadOnly);
  EXPECT_CODE(reader->SetRetentionPolicy({}), Code::kReadOnly);
  ASSERT_OK(reader->GetRetentionPolicy());
}

TEST(Retention, RunsOnAScheduleUntilStopped) {
  Fixture f;
  ConversationStore& s = *f.store;
  ASSERT_OK(s.RecordMetric({.type = "t", .name = "n", .value = 1, .at = kT0 - 10 * kDay}));
  ASSERT_OK(s.SetRetentionPolicy({.metrics_us = kDay}));
  ASSERT_OK(s.StartRetention(1'000'000));
  EXPECT_CODE(s.StartRetention(1'000'000), Code::kConflict);
  for (int i = 0; i < 500; ++i) {
    auto status = s.GetRetentionStatus();
    ASSERT_OK(status);
    if (status->runs > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto stopped = s.StopRetention();
  ASSERT_OK(stopped);
  EXPECT_FALSE(stopped->running);
  EXPECT_GE(stopped->runs, 1);
  EXPECT_EQ(stopped->failed_runs, 0);
  ASSERT_TRUE(stopped->last.has_value());
  EXPECT_EQ(QueryInt(f.db.path(), "SELECT count(*) FROM metrics"), 0);
  EXPECT_CODE(s.StopRetention(), Code::kNotFound);
  // Close stops a running schedule.
  ASSERT_OK(s.StartRetention(3'600'000'000));
  ASSERT_OK(s.Close());
}

TEST(Retention, AuditAndJournalAgesApply) {
  Fixture f;
  ConversationStore& s = *f.store;
  for (int i = 0; i < 30; ++i) ASSERT_OK(s.LogEvent({.action = "app.event", .resource_type = "thing"}));
  const int64_t journal_before = QueryInt(f.db.path(), "SELECT count(*) FROM change_journal");
  f.now = kT0 + 30 * kDay;
  ASSERT_OK(s.LogEvent({.action = "app.event", .resource_type = "thing"}));
  auto report = s.ApplyRetention({.batch_rows = 7, .policy = RetentionPolicy{.audit_us = kDay, .journal_us = kDay}});
  ASSERT_OK(report);
  EXPECT_EQ(report->audit_entries, 30);
  EXPECT_GE(report->journal_entries, journal_before - 1);
  auto chain = s.VerifyAudit();
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  // The one-off policy was not stored.
  auto stored = s.GetRetentionPolicy();
  ASSERT_OK(stored);
  EXPECT_FALSE(stored->audit_us || stored->journal_us);
}

}  // namespace
}  // namespace convstore
