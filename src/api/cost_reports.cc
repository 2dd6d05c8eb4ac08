// Cost reports: the summary, group-bys, usage statistics, a team's spend, and the rollup verify / rebuild.
#include "api/store_impl.h"
#include "cost/cost_scan.h"
#include "cost/reports.h"

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

Result<RollupReport> StoreImpl::DoCheckRollups(bool repair) {
  if (repair)
    return Write("rebuild_rollups", [&](sqlite::Connection& conn) { return cost::CheckRollups(conn, true); });
  return Read("verify_rollups", [&](sqlite::Connection& conn) {
    return InSnapshot(conn, [&] { return cost::CheckRollups(conn, false); });
  });
}

}  // namespace convstore::api
