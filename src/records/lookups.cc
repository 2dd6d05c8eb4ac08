#include "records/lookups.h"

#include <fmt/format.h>

namespace convstore::records {

namespace {

// `action` names the lookup in errors (a literal: no string is formatted on the way to a found row).
Result<int64_t> FindId(sqlite::Connection& conn, const char* sql, std::string_view key, const char* what,
                       const char* action) {
  auto id = conn.QueryInt(sql, action, key);
  if (!id.ok()) return id.status();
  if (!*id) return Status::NotFound(fmt::format("{} '{}' does not exist", what, key));
  return **id;
}

}  // namespace

Result<int64_t> FindOrCreateUser(sqlite::Connection& conn, std::string_view key, int64_t now) {
  auto found = conn.QueryInt("SELECT id FROM users WHERE key = ?1", "find user", key);
  if (!found.ok()) return found.status();
  if (*found) return **found;
  auto created = conn.QueryInt("INSERT INTO users(key, created_at, updated_at) VALUES (?1, ?2, ?2) RETURNING id",
                               "create user", key, now);
  if (!created.ok()) return created.status();
  return created->value_or(0);
}

Result<int64_t> FindUserId(sqlite::Connection& conn, std::string_view key) {
  return FindId(conn, "SELECT id FROM users WHERE key = ?1", key, "user", "find user");
}

Result<int64_t> FindTeamId(sqlite::Connection& conn, std::string_view key) {
  return FindId(conn, "SELECT id FROM teams WHERE key = ?1", key, "team", "find team");
}

Result<int64_t> FindConversationRow(sqlite::Connection& conn, std::string_view id) {
  return FindId(conn, "SELECT id FROM conversations WHERE uid = ?1", id, "conversation", "find conversation");
}

Result<int64_t> UserTeamId(sqlite::Connection& conn, int64_t user_id) {
  auto team = conn.QueryInt("SELECT coalesce(team_id, 0) FROM users WHERE id = ?1", "find user's team", user_id);
  if (!team.ok()) return team.status();
  return team->value_or(0);
}

Result<int64_t> ConversationUserId(sqlite::Connection& conn, int64_t conversation_row) {
  auto user = conn.QueryInt("SELECT user_id FROM conversations WHERE id = ?1", "find the conversation's user",
                            conversation_row);
  if (!user.ok()) return user.status();
  if (!*user) return Status::NotFound("the conversation does not exist");
  return **user;
}

}  // namespace convstore::records
