// Erasure: the rows about one user that erasing them (EraseUser) deletes or strips — their conversations with every
// row under them, their API usage, and the user row itself, kept for the spend counted under it but with nothing
// that names the person.
//
// Functions take the connection of the caller's write transaction and touch no derived structure (cost rollups,
// retained cost, metadata index): the caller keeps those in step.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "convstore/status.h"
#include "convstore/types.h"
#include "sqlite/connection.h"
#include "sqlite/value.h"

namespace convstore::records {

// The prefix of an erased user's key: "erased:" + their pseudonymous id.
inline constexpr const char* kErasedKeyPrefix = "erased:";

struct UserRow {
  int64_t id = 0;
  Micros created_at = 0;
  bool erased = false;  // already erased (its key is the erased form)
};
// kNotFound for an unknown key.
Result<UserRow> FindUserRow(sqlite::Connection& conn, std::string_view key);

// The row ids of what lies under a user: their conversations; under a conversation its messages, their tool
// calls and its tombstones; the user's API usage.
Result<std::vector<int64_t>> ConversationRowsOfUser(sqlite::Connection& conn, int64_t user_id);
Result<std::vector<int64_t>> MessageRowsOf(sqlite::Connection& conn, int64_t conversation_row);
Result<std::vector<int64_t>> ToolCallRowsOf(sqlite::Connection& conn, int64_t conversation_row);
Result<std::vector<int64_t>> TombstoneRowsOf(sqlite::Connection& conn, int64_t conversation_row);
Result<std::vector<int64_t>> ApiUsageRowsOfUser(sqlite::Connection& conn, int64_t user_id);

// Strips the user row: key "erased:<pseudonym>", email, name and role emptied, inactive. Its id (which the cost
// rollups and retained cost count under) and team stay.
Status StripUser(sqlite::Connection& conn, int64_t user_id, std::string_view pseudonym, Micros now);
// The personal columns StripUser rewrites, with the values they hold afterwards (what a journal redaction writes
// into earlier changes of the row).
std::map<std::string, sqlite::Value> StrippedUserValues(std::string_view pseudonym);

}  // namespace convstore::records
