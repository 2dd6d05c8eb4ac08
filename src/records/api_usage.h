// API-usage rows (calls recorded without a message: embeddings, tool-side calls, settled reservations): their
// checks, insert and readers.
//
// Functions take the connection of the caller's transaction; none opens one, and none touches a derived structure
// (cost rollups, metadata index): the caller keeps those in step in the same transaction.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "convstore/cost.h"
#include "sqlite/connection.h"

namespace convstore::records {

// A NewApiUsage after validation: what the insert needs, computed before the write lock is taken.
struct ValidUsage {
  const NewApiUsage* in = nullptr;
  std::string metadata;
  std::optional<NanoUsd> cost;
  Micros recorded_at = 0;
};

// Checks everything that does not need the database. With require_user false, an empty user_key is allowed
// (Settle fills in the reservation's user).
Status ValidateUsage(const NewApiUsage& usage, Micros now, bool require_user, ValidUsage& out);

// Whose call it is: the user (created when new), the team (the usage's team_key when set, else the user's;
// 0 for none) and the conversation's row (when the usage names one).
struct UsageOwner {
  int64_t user_id = 0;
  int64_t team_id = 0;
  std::optional<int64_t> conversation_row;
};
Result<UsageOwner> ResolveUsageOwner(sqlite::Connection& conn, const NewApiUsage& usage, std::string_view user_key,
                                     Micros now);

// Inserts the row with id `uid` and the given cost; returns its row id.
Result<int64_t> InsertApiUsageRow(sqlite::Connection& conn, const ValidUsage& usage, const UsageOwner& owner,
                                  std::string_view uid, std::string_view request_id,
                                  const std::optional<NanoUsd>& cost, const std::optional<int64_t>& price_id);

// The API usage row with this uid or request_id.
Result<std::optional<ApiUsage>> FindApiUsage(sqlite::Connection& conn, std::string_view uid,
                                             std::string_view request_id);

// The API usage row with this INTEGER id.
Result<std::optional<ApiUsage>> ApiUsageByRowId(sqlite::Connection& conn, int64_t row_id);

}  // namespace convstore::records
