// Retained cost: what raw rows removed by retention had spent, so the rollups (and every summary and budget read
// from them) keep counting it after the rows are gone.
//
//   cost_retained  one row per (UTC day, hour, user, team, model, source, role, endpoint, status) with the same
//                  measures as cost_rollups — the rollups' dimensions plus the hour, so both the daily fine rollups
//                  and the hourly scope totals can be recomputed from it.
//
// Retention adds each row it deletes here in the deleting transaction and leaves the rollups as they are: the
// rollups then equal the stored raw rows plus the retained rows, which is what VerifyRollups and RebuildRollups
// recompute (rollup_check.h). Raw-row summaries (a conversation's cost, a non-UTC day) count retained rows at
// the start of their hour. Not thread-safe: runs on the connection of the caller's transaction.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "cost/rollups.h"
#include "sqlite/connection.h"

namespace convstore::cost {

// Adds `rows` (raw rows being deleted) to cost_retained. kTooLarge when a retained sum would leave the int64
// range (it cannot, for rows the rollups already hold: their day's sums fit). The pending messages are folded into
// the rollups first (cost/pending.h): a message still pending would stop being counted when it goes.
Status RetainCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows);

// Takes `rows` (raw rows being written again: a user's rows imported after their erasure) back out of
// cost_retained, leaving the rollups as they are, so the spend is counted once. Returns how much of the rows' cost
// was found retained; rows whose hour and dimensions hold less than they need are not taken out (their spend is
// added to the rollups by the caller instead) and are appended to `not_retained`.
Result<NanoUsd> ReleaseRetainedCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows,
                                        std::vector<CostRow>& not_retained);

// The retained rows whose hour starts in [from, to), as (dimensions, measures): `key` carries the dimensions and
// at = the start of its hour; its token, cost and latency fields are unset (the measures hold them).
Status VisitRetained(sqlite::Connection& conn, Micros from, Micros to,
                     const std::function<void(const CostRow& key, const Measures& measures)>& visit);

// The cost rows of these API-usage rows (by row id), appended to `rows`.
Status ApiUsageCostRows(sqlite::Connection& conn, const std::vector<int64_t>& row_ids, std::vector<CostRow>& rows);

// The cost rows of these messages (by row id; each with its conversation's user), appended to `rows`.
Status MessageCostRows(sqlite::Connection& conn, const std::vector<int64_t>& row_ids, std::vector<CostRow>& rows);

}  // namespace convstore::cost
