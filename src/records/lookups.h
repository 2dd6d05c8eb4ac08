// Lookups of internal row ids by external keys, shared by the store's write and read paths.
#pragma once
#include <cstdint>
#include <string_view>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::records {

// The user's row id, creating the user (key only) when it does not exist.
Result<int64_t> FindOrCreateUser(sqlite::Connection& conn, std::string_view key, int64_t now);
// Row ids; kNotFound naming the key when missing.
Result<int64_t> FindUserId(sqlite::Connection& conn, std::string_view key);
Result<int64_t> FindTeamId(sqlite::Connection& conn, std::string_view key);
Result<int64_t> FindConversationRow(sqlite::Connection& conn, std::string_view id);
// For filters of list-style reads, where an unknown key selects nothing rather than failing: the row id, or
// kNoSuchRow (an id no row has) when the key is unknown.
inline constexpr int64_t kNoSuchRow = -1;
inline Result<int64_t> RowOrNone(Result<int64_t> found) {
  if (!found.ok() && found.status().code() == Code::kNotFound) return kNoSuchRow;
  return found;
}
// The team row id of a user (0: none).
Result<int64_t> UserTeamId(sqlite::Connection& conn, int64_t user_id);
// The row id of the user a conversation (by row id) belongs to.
Result<int64_t> ConversationUserId(sqlite::Connection& conn, int64_t conversation_row);

}  // namespace convstore::records
