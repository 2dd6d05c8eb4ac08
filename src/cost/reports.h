// Cost reports built from the cost scan (cost_scan.h): the daily summary, group-bys, usage statistics with latency
// percentiles, a team's month-to-date view, and the rollups checked against the raw rows.
//
// Run each inside a read transaction (one snapshot); CheckRollups with repair inside a write transaction.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "convstore/cost.h"
#include "sqlite/connection.h"

namespace convstore::cost {

Result<CostSummary> SummarizeCosts(sqlite::Connection& conn, const CostFilter& filter, Micros now);

// 1 to 4 distinct dimensions of day, week, month, user, team, model, role, endpoint, status, source.
Status ValidateGroupBy(const std::vector<std::string>& group_by);
Result<CostGroupResult> GroupCosts(sqlite::Connection& conn, const CostFilter& filter,
                                   const std::vector<std::string>& group_by, Micros now);

Result<std::vector<UsageStat>> UsageStats(sqlite::Connection& conn, const CostFilter& filter, Micros now);

// Latency per model (the same histograms as UsageStats, merged over users), models in name order.
Result<std::vector<ModelLatency>> LatencyByModel(sqlite::Connection& conn, const CostFilter& filter, Micros now);

// Every team's key, in key order.
Result<std::vector<std::string>> TeamKeys(sqlite::Connection& conn);

// kNotFound for an unknown team.
Result<TeamSpend> TeamSpendOf(sqlite::Connection& conn, std::string_view team_key, int lookback_days, Micros now);

// Recomputes the rollups from the raw rows and compares; with `repair`, replaces them when they differ.
Result<RollupReport> CheckRollups(sqlite::Connection& conn, bool repair);

}  // namespace convstore::cost
