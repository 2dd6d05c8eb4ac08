// The cost report: every number equals what GetCostSummary, GroupCosts, GetTeamSpend and GetUsageStats return for
// the same filter at the same instant; the top-N cut, the team list and the model order; bad options refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::TempDb;

constexpr int64_t kUsd = 1'000'000'000;
constexpr Micros kDay = 86'400'000'000;
constexpr Micros kNow = 1'796'220'000'000'000;  // 2026-12-02T14:00Z

class CostReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.env = &env_;
    store_ = OpenOrDie(db_.path(), options_);
    ASSERT_OK(store_->UpsertTeam({.key = "netops", .monthly_budget_nanousd = 40 * kUsd}));
    ASSERT_OK(store_->UpsertTeam({.key = "ml", .monthly_budget_nanousd = 1000 * kUsd}));
    ASSERT_OK(store_->UpsertTeam({.key = "idle", .monthly_budget_nanousd = 5 * kUsd}));
    ASSERT_OK(store_->UpsertTeam({.key = "unbudgeted"}));
    for (const char* u : {"ana", "al"}) ASSERT_OK(store_->UpsertUser({.key = u, .team_key = std::string("netops")}));
    ASSERT_OK(store_->UpsertUser({.key = "bo", .team_key = std::string("ml")}));
    ASSERT_OK(store_->UpsertUser({.key = "cy"}));
    const char* models[] = {"gpt-4o", "claude", "llama"};
    for (int day = 0; day < 10; ++day)
      for (int k = 0; k < 3; ++k)
        for (const char* u : {"ana", "al", "bo", "cy"}) {
          if (k == 2 && std::string(u) != "cy") continue;
          ASSERT_OK(store_->RecordApiUsage({.user_key = u, .model = models[k],
                                            .cost_nanousd = (day + 1) * (k + 1) * 37'000'000 + (u[1] == 'l'),
                                            .latency_us = 1000 * (k + 1) * (10 + day),
                                            .recorded_at = kNow - day * kDay - 3'600'000'000}));
        }
    auto c = store_->CreateConversation({.user_key = "ana"});
    ASSERT_OK(c);
    ASSERT_OK(store_->AddMessage(c->id, {.role = Role::kAssistant, .content = "x", .model = "gpt-4o",
                                         .cost_nanousd = kUsd / 2, .latency_us = 9000}));
  }

  std::atomic<Micros> now_{kNow};
  testing::ClockEnv env_{[this] { return now_.load(); }};
  Options options_;
  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
};

TEST_F(CostReportTest, EveryNumberIsTheSeparateReportsNumber) {
  // The last 7 days as whole days: what a report without `from` covers.
  const CostFilter filter{.from = kNow / kDay * kDay - 6 * kDay};
  auto r = store_->GetCostReport({.filter = filter, .top = 2});
  ASSERT_OK(r);
  auto by_days = store_->GetCostReport({.filter = {.days = 7}, .top = 2});
  ASSERT_OK(by_days);
  EXPECT_EQ(by_days->summary.from, r->summary.from);
  EXPECT_EQ(by_days->summary.total_cost_nanousd, r->summary.total_cost_nanousd);
  NanoUsd daily_total = 0;
  for (const CostGroup& g : r->daily_by_model.groups) daily_total += g.cost_nanousd;
  EXPECT_EQ(daily_total, r->summary.total_cost_nanousd);  // the chart and the totals count the same rows
  auto summary = store_->GetCostSummary(filter);
  ASSERT_OK(summary);
  EXPECT_EQ(r->summary.total_cost_nanousd, summary->total_cost_nanousd);
  EXPECT_EQ(r->summary.total_messages, summary->total_messages);
  EXPECT_EQ(r->summary.daily.size(), summary->daily.size());
  EXPECT_EQ(r->generated_at, kNow);

  auto daily = store_->GroupCosts(filter, {"day", "model"});
  ASSERT_OK(daily);
  ASSERT_EQ(r->daily_by_model.groups.size(), daily->groups.size());
  for (size_t i = 0; i < daily->groups.size(); ++i) {
    EXPECT_EQ(r->daily_by_model.groups[i].keys, daily->groups[i].keys);
    EXPECT_EQ(r->daily_by_model.groups[i].cost_nanousd, daily->groups[i].cost_nanousd);
  }

  auto users = store_->GroupCosts(filter, {"user"});
  ASSERT_OK(users);
  std::vector<CostGroup> by_cost = users->groups;
  std::sort(by_cost.begin(), by_cost.end(), [](const CostGroup& a, const CostGroup& b) {
    return a.cost_nanousd != b.cost_nanousd ? a.cost_nanousd > b.cost_nanousd : a.keys < b.keys;
  });
  ASSERT_EQ(r->top_users.size(), 2u);
  EXPECT_EQ(r->users_with_spend, 4);
  EXPECT_EQ(r->top_users[0].keys, by_cost[0].keys);
  EXPECT_EQ(r->top_users[1].cost_nanousd, by_cost[1].cost_nanousd);
  EXPECT_EQ(r->top_users[0].keys, std::vector<std::string>{"cy"});  // the only user of the dearest model
  EXPECT_EQ(r->teams_with_spend, 3);  // netops, ml, and "" (cy has no team)
  ASSERT_EQ(r->top_teams.size(), 2u);
  EXPECT_EQ(r->top_teams[0].keys, std::vector<std::string>{"netops"});  // two users, and a message

  // Models, largest total first.
  std::map<std::string, NanoUsd> per_model;
  for (const CostGroup& g : daily->groups) per_model[g.keys[1]] += g.cost_nanousd;
  ASSERT_EQ(r->models.size(), 3u);
  for (size_t i = 1; i < r->models.size(); ++i) EXPECT_GE(per_model[r->models[i - 1]], per_model[r->models[i]]);

  // Teams with a budget or spend this month, largest month-to-date first; each as GetTeamSpend.
  std::vector<std::string> teams;
  for (const TeamSpend& t : r->team_budgets) {
    teams.push_back(t.team_key);
    auto one = store_->GetTeamSpend(t.team_key, 30);
    ASSERT_OK(one);
    EXPECT_EQ(t.month_to_date_nanousd, one->month_to_date_nanousd);
    EXPECT_EQ(t.projected_month_end_nanousd, one->projected_month_end_nanousd);
    EXPECT_EQ(t.monthly_budget_nanousd, one->monthly_budget_nanousd);
    EXPECT_EQ(t.daily_average_nanousd, one->daily_average_nanousd);
  }
  EXPECT_EQ(teams, (std::vector<std::string>{"netops", "ml", "idle"}));

  // Latency per model: the users' histograms merged; calls and the p95 between the users' p95s.
  auto stats = store_->GetUsageStats(filter);
  ASSERT_OK(stats);
  ASSERT_EQ(r->latency_by_model.size(), 3u);
  for (const ModelLatency& l : r->latency_by_model) {
    int64_t calls = 0, lo = INT64_MAX, hi = 0;
    for (const UsageStat& u : *stats)
      if (u.model == l.model) {
        calls += u.calls;
        lo = std::min(lo, u.p95_latency_us);
        hi = std::max(hi, u.p95_latency_us);
      }
    EXPECT_EQ(l.calls, calls) << l.model;
    EXPECT_GE(l.p95_latency_us, lo) << l.model;
    EXPECT_LE(l.p95_latency_us, hi) << l.model;
    EXPECT_LE(l.p50_latency_us, l.p95_latency_us);
    EXPECT_LE(l.p95_latency_us, l.p99_latency_us);
  }
}

TEST_F(CostReportTest, TheFilterNarrowsEveryPart) {
  auto r = store_->GetCostReport({.filter = {.days = 30, .team_key = "netops"}});
  ASSERT_OK(r);
  auto summary = store_->GetCostSummary({.days = 30, .team_key = "netops"});
  ASSERT_OK(summary);
  EXPECT_EQ(r->summary.total_cost_nanousd, summary->total_cost_nanousd);
  EXPECT_EQ(r->users_with_spend, 2);
  EXPECT_EQ(r->teams_with_spend, 1);
  EXPECT_EQ(r->models.size(), 2u);  // netops never used llama
  auto nobody = store_->GetCostReport({.filter = {.team_key = "nobody"}});
  ASSERT_OK(nobody);
  EXPECT_EQ(nobody->summary.total_cost_nanousd, 0);
  EXPECT_TRUE(nobody->daily_by_model.groups.empty());
  EXPECT_TRUE(nobody->top_users.empty());
  EXPECT_TRUE(nobody->latency_by_model.empty());
}

TEST_F(CostReportTest, BadOptionsAreRefusedAndNothingIsWritten) {
  EXPECT_CODE(store_->GetCostReport({.top = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetCostReport({.top = 1001}), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetCostReport({.lookback_days = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetCostReport({.filter = {.days = 0}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetCostReport({.filter = {.source = "both"}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetCostReport({.filter = {.from = 10, .to = 5}}), Code::kInvalidArgument);
  auto read_only = OpenOrDie(db_.path(), [] {
    Options o;
    o.read_only = true;
    return o;
  }());
  ASSERT_OK(read_only->GetCostReport({}));
}

}  // namespace
}  // namespace convstore
