// JSON codec of the C ABI's cost calls: prices, API usage, cost filters and summaries, rollup reports, budgets.
// Pure functions; thread-safe. Decoders refuse unknown fields and wrong types with kInvalidArgument.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "convstore/cost.h"
#include "convstore/status.h"

namespace convstore::capi {

Result<PriceInput> DecodePrice(std::string_view json);
Result<NewApiUsage> DecodeApiUsage(std::string_view json);
Result<CostFilter> DecodeCostFilter(std::string_view json);
// A cost filter plus "group_by": [dimension, ...].
Result<std::pair<CostFilter, std::vector<std::string>>> DecodeGroupQuery(std::string_view json);
Result<std::pair<Micros, Micros>> DecodeRange(std::string_view json);
Result<BudgetInput> DecodeBudget(std::string_view json);
Result<ReserveRequest> DecodeReserve(std::string_view json);

std::string EncodePrice(const Price& p);
std::string EncodePrices(const std::vector<Price>& ps);
std::string EncodeApiUsage(const ApiUsage& u);
std::string EncodeCostSummary(const CostSummary& s);
std::string EncodeCostGroups(const CostGroupResult& g);
std::string EncodeUsageStats(const std::vector<UsageStat>& stats);
std::string EncodeTeamSpend(const TeamSpend& t);
// A cost filter's members plus "top"?: int and "lookback_days"?: int.
Result<CostReportOptions> DecodeCostReportOptions(std::string_view json);
std::string EncodeCostReport(const CostReport& r);
std::string EncodeRollupReport(const RollupReport& r);
std::string EncodeRepriceReport(const RepriceReport& r);
std::string EncodeBudgetState(const BudgetState& b);
std::string EncodeBudgetStates(const std::vector<BudgetState>& bs);
std::string EncodeReservation(const Reservation& r);
std::string EncodeBudgetAlert(const BudgetAlert& a);

}  // namespace convstore::capi
