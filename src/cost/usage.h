// API usage records: validation and the insert shared by RecordApiUsage and Settle.
#pragma once
#include <optional>
#include <string>

#include "convstore/cost.h"
#include "cost/budgets.h"
#include "sqlite/connection.h"

namespace convstore::cost {

struct ValidUsage {
  const NewApiUsage* in = nullptr;
  std::string metadata;
  std::optional<NanoUsd> cost;
  Micros recorded_at = 0;
};

// Checks everything that does not need the database. With require_user false, an empty user_key is allowed
// (Settle fills in the reservation's user).
Status ValidateUsage(const NewApiUsage& usage, Micros now, bool require_user, ValidUsage& out);

// Inserts the row (or returns the one already recorded with its request_id), prices it, and updates the
// rollups; inside the caller's write transaction. `spent` (optional) says what a new row added (added 0 and
// user_id 0 for a retry).
Result<ApiUsage> InsertApiUsage(sqlite::Connection& conn, const ValidUsage& usage, std::string_view user_key,
                                std::string_view request_id, Micros now, SpendNote* spent);

// The API usage row with this uid or request_id.
Result<std::optional<ApiUsage>> FindApiUsage(sqlite::Connection& conn, std::string_view uid,
                                             std::string_view request_id);

// The API usage row with this INTEGER id.
Result<std::optional<ApiUsage>> ApiUsageByRowId(sqlite::Connection& conn, int64_t row_id);

}  // namespace convstore::cost
