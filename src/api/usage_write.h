// Recording one API-usage row with everything kept in step with it: its price, the metadata index, the cost
// rollups. Shared by RecordApiUsage and Settle; runs inside the caller's write transaction.
#pragma once
#include <string_view>

#include "convstore/cost.h"
#include "cost/budgets.h"
#include "records/api_usage.h"
#include "sqlite/connection.h"

namespace convstore::api {

// Inserts the row (or returns the one already recorded with its request_id: kConflict when it is another user's),
// prices it and counts it. `spent` says what a new row added (empty for a retry).
Result<ApiUsage> RecordUsage(sqlite::Connection& conn, const records::ValidUsage& usage, std::string_view user_key,
                             std::string_view request_id, Micros now, cost::SpendNote& spent);

}  // namespace convstore::api
