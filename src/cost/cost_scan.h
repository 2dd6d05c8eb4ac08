// The cost query engine: resolves a CostFilter against the database and visits the matching rows — from the
// scope totals, the fine rollups, or (conversation filter, sub-hour offsets) the raw rows — as (time, dims,
// measures) records for summaries, group-bys and usage statistics to aggregate.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "convstore/cost.h"
#include "cost/rollups.h"
#include "sqlite/connection.h"

namespace convstore::cost {

enum class Plan { kTotals, kRollups, kConversation, kRawScan };
const char* PlanName(Plan plan);

struct ResolvedFilter {
  Micros from = 0, to = 0;         // the range used: hour-aligned for rollup plans
  int64_t user_id = 0;             // 0: any
  std::optional<int64_t> team_id;  // none: any (an unknown team: records::kNoSuchRow, which no row has)
  int64_t conversation_row = 0;    // 0: any
  std::string model;               // "": any
  int source_mask = 1;             // 1 messages, 2 API usage, 3 both
  int64_t offset_us = 0;
  Plan plan = Plan::kTotals;
};

// What a record carries; dims unknown to the plan (user, model, ... under kTotals) are empty / 0.
struct CostRecord {
  Micros at = 0;  // start of the hour (rollup plans) or the row's own time (raw plans)
  int64_t user_id = 0;
  int64_t team_id = 0;
  std::string_view model, role, endpoint, status;
  int source = kSourceMessage;
  const Measures* measures = nullptr;
};

// Validates the filter (kInvalidArgument / kNotFound for unknown user, team or conversation) and picks the plan.
// need_dims: the caller needs user/team/model/role/endpoint/status (so kTotals is not enough).
Result<ResolvedFilter> ResolveFilter(sqlite::Connection& conn, const CostFilter& filter, Micros now, bool need_dims);

// Visits every matching record. need_hist: decode latency histograms into the measures.
Status VisitCosts(sqlite::Connection& conn, const ResolvedFilter& f, bool need_hist,
                  const std::function<void(const CostRecord&)>& visit);

// Sum of one scope's spend over [from, to), all sources in source_mask: hour-aligned for everything and teams
// (hourly totals); widened to whole UTC days for a user (daily rollups).
Result<Measures> SumScope(sqlite::Connection& conn, int scope, int64_t scope_id, Micros from, Micros to,
                          int source_mask);

// Validates a filter without the database (used before the read starts).
Status ValidateFilter(const CostFilter& filter);

// Longest range a cost query may cover.
inline constexpr int64_t kMaxRangeDays = 3660;

Micros FloorHour(Micros t);
Micros CeilHour(Micros t);

}  // namespace convstore::cost
