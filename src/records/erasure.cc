#include "records/erasure.h"

#include <fmt/format.h>

#include "util/status_macros.h"

namespace convstore::records {

Result<UserRow> FindUserRow(sqlite::Connection& conn, std::string_view key) {
  auto row = conn.QueryRow("SELECT id, created_at, key FROM users WHERE key = ?1", "find a user",
                           [](const sqlite::Stmt& st) {
                             return UserRow{st.Int(0), st.Int(1), st.Text(2).rfind(kErasedKeyPrefix, 0) == 0};
                           },
                           key);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(fmt::format("user '{}' does not exist", key));
  return **row;
}

Result<std::vector<int64_t>> ConversationRowsOfUser(sqlite::Connection& conn, int64_t user_id) {
  return conn.QueryInts("SELECT id FROM conversations WHERE user_id = ?1 ORDER BY id", "find a user's conversations",
             user_id);
}

Result<std::vector<int64_t>> MessageRowsOf(sqlite::Connection& conn, int64_t conversation_row) {
  return conn.QueryInts("SELECT id FROM messages WHERE conversation_id = ?1", "find a conversation's messages",
             conversation_row);
}

Result<std::vector<int64_t>> ToolCallRowsOf(sqlite::Connection& conn, int64_t conversation_row) {
  return conn.QueryInts(
             "SELECT t.id FROM tool_calls t JOIN messages m ON m.id = t.message_id WHERE m.conversation_id = ?1",
             "find a conversation's tool calls", conversation_row);
}

Result<std::vector<int64_t>> TombstoneRowsOf(sqlite::Connection& conn, int64_t conversation_row) {
  return conn.QueryInts("SELECT id FROM message_tombstones WHERE conversation_id = ?1", "find a conversation's tombstones",
             conversation_row);
}

Result<std::vector<int64_t>> ApiUsageRowsOfUser(sqlite::Connection& conn, int64_t user_id) {
  return conn.QueryInts("SELECT id FROM api_usage WHERE user_id = ?1 ORDER BY id", "find a user's api usage", user_id);
}

std::map<std::string, sqlite::Value> StrippedUserValues(std::string_view pseudonym) {
  return {{"key", sqlite::Value::Text(std::string(kErasedKeyPrefix) + std::string(pseudonym))},
          {"email", sqlite::Value::Text("")},
          {"name", sqlite::Value::Text("")},
          {"role", sqlite::Value::Text("")}};
}

Status StripUser(sqlite::Connection& conn, int64_t user_id, std::string_view pseudonym, Micros now) {
  const std::string key = std::string(kErasedKeyPrefix) + std::string(pseudonym);
  return conn.Run(
      "UPDATE users SET key = ?2, email = '', name = '', role = '', active = 0, updated_at = max(updated_at, ?3)"
      " WHERE id = ?1",
      "strip an erased user", user_id, std::string_view(key), now);
}

}  // namespace convstore::records
