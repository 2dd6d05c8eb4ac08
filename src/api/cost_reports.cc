// Cost reports: the summary, group-bys, usage statistics, a team's spend, and the rollup verify / rebuild.
#include <algorithm>
#include <map>
#include <tuple>

#include "api/store_impl.h"
#include "cost/cost_scan.h"
#include "cost/reports.h"
#include "util/int128.h"

namespace convstore::api {

namespace {

// Runs a report on one snapshot.
template <typename F>
auto InSnapshot(sqlite::Connection& conn, F&& report) -> decltype(report()) {
  auto txn = sqlite::ReadTransaction::Begin(conn);
  if (!txn.ok()) return txn.status();
  return report();
}

}  // namespace

Result<CostSummary> StoreImpl::DoGetCostSummary(const CostFilter& filter) {
  CONVSTORE_RETURN_IF_ERROR(cost::ValidateFilter(filter));
  int64_t now = Now();
  return Read("get_cost_summary", [&](sqlite::Connection& conn) {
    return InSnapshot(conn, [&] { return cost::SummarizeCosts(conn, filter, now); });
  });
}

Result<CostGroupResult> StoreImpl::DoGroupCosts(const CostFilter& filter, const std::vector<std::string>& group_by) {
  CONVSTORE_RETURN_IF_ERROR(cost::ValidateFilter(filter));
  CONVSTORE_RETURN_IF_ERROR(cost::ValidateGroupBy(group_by));
  int64_t now = Now();
  return Read("group_costs", [&](sqlite::Connection& conn) {
    return InSnapshot(conn, [&] { return cost::GroupCosts(conn, filter, group_by, now); });
  });
}

Result<std::vector<UsageStat>> StoreImpl::DoGetUsageStats(const CostFilter& filter) {
  CONVSTORE_RETURN_IF_ERROR(cost::ValidateFilter(filter));
  int64_t now = Now();
  return Read("get_usage_stats", [&](sqlite::Connection& conn) {
    return InSnapshot(conn, [&] { return cost::UsageStats(conn, filter, now); });
  });
}

Result<TeamSpend> StoreImpl::DoGetTeamSpend(std::string_view team_key, int lookback_days) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(team_key, "team_key"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(lookback_days, 1, 366, "lookback_days"));
  int64_t now = Now();
  return Read("get_team_spend", [&](sqlite::Connection& conn) {
    return InSnapshot(conn, [&] { return cost::TeamSpendOf(conn, team_key, lookback_days, now); });
  });
}

namespace {

// The groups largest cost first (then key), at most `top`.
std::vector<CostGroup> Largest(std::vector<CostGroup> groups, int top) {
  std::stable_sort(groups.begin(), groups.end(), [](const CostGroup& a, const CostGroup& b) {
    return a.cost_nanousd != b.cost_nanousd ? a.cost_nanousd > b.cost_nanousd : a.keys < b.keys;
  });
  if (groups.size() > static_cast<size_t>(top)) groups.resize(static_cast<size_t>(top));
  return groups;
}

// The models of the day-by-model groups, largest total first (then name). The totals are only compared, in 128
// bits: no sum of 64-bit costs can pass that.
std::vector<std::string> ModelsByTotal(const CostGroupResult& daily_by_model) {
  std::map<std::string, util::Int128> totals;
  for (const CostGroup& g : daily_by_model.groups) totals[g.keys[1]] += g.cost_nanousd;
  std::vector<std::pair<std::string, util::Int128>> ordered(totals.begin(), totals.end());
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> models;
  for (auto& [model, total] : ordered) models.push_back(std::move(model));
  return models;
}

Result<CostReport> ReportOf(sqlite::Connection& conn, const CostReportOptions& o, Micros now) {
  CostReport r;
  r.generated_at = now;
  auto summary = cost::SummarizeCosts(conn, o.filter, now);
  if (!summary.ok()) return summary.status();
  r.summary = std::move(*summary);
  auto daily = cost::GroupCosts(conn, o.filter, {"day", "model"}, now);
  if (!daily.ok()) return daily.status();
  r.daily_by_model = std::move(*daily);
  r.models = ModelsByTotal(r.daily_by_model);
  for (auto [dim, out, count] : {std::tuple{"user", &r.top_users, &r.users_with_spend},
                                 std::tuple{"team", &r.top_teams, &r.teams_with_spend}}) {
    auto groups = cost::GroupCosts(conn, o.filter, {dim}, now);
    if (!groups.ok()) return groups.status();
    *count = static_cast<int64_t>(groups->groups.size());
    *out = Largest(std::move(groups->groups), o.top);
  }
  auto teams = cost::TeamKeys(conn);
  if (!teams.ok()) return teams.status();
  for (const std::string& team : *teams) {
    auto spend = cost::TeamSpendOf(conn, team, o.lookback_days, now);
    if (!spend.ok()) return spend.status();
    if (spend->monthly_budget_nanousd || spend->month_to_date_nanousd != 0) r.team_budgets.push_back(std::move(*spend));
  }
  std::stable_sort(r.team_budgets.begin(), r.team_budgets.end(), [](const TeamSpend& a, const TeamSpend& b) {
    return a.month_to_date_nanousd > b.month_to_date_nanousd;  // ties keep key order
  });
  auto latency = cost::LatencyByModel(conn, o.filter, now);
  if (!latency.ok()) return latency.status();
  r.latency_by_model = std::move(*latency);
  return r;
}

}  // namespace

Result<CostReport> StoreImpl::DoGetCostReport(const CostReportOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(cost::ValidateFilter(options.filter));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(options.top, 1, 1000, "top"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(options.lookback_days, 1, 366, "lookback_days"));
  // The summary, the groups and the teams' months all as of one instant.
  const int64_t now = Now();
  CostReportOptions o = options;
  if (!o.filter.from) {
    // The last `days` days as whole days (today included), so the hourly totals and the daily groups cover the
    // same rows.
    constexpr Micros kDay = 86'400'000'000;
    const Micros offset = int64_t{o.filter.utc_offset_minutes} * 60'000'000;
    const Micros local_end = o.filter.to.value_or(now + 1) - 1 + offset;
    const Micros day_start = (local_end / kDay - (local_end % kDay < 0 ? 1 : 0)) * kDay - offset;
    o.filter.from = day_start - int64_t{o.filter.days - 1} * kDay;
  }
  return Read("get_cost_report", [&](sqlite::Connection& conn) {
    return InSnapshot(conn, [&] { return ReportOf(conn, o, now); });
  });
}

Result<RollupReport> StoreImpl::DoCheckRollups(bool repair) {
  if (repair)
    return Write("rebuild_rollups", [&](sqlite::Connection& conn) { return cost::CheckRollups(conn, true); });
  return Read("verify_rollups", [&](sqlite::Connection& conn) {
    return InSnapshot(conn, [&] { return cost::CheckRollups(conn, false); });
  });
}

}  // namespace convstore::api
