#include "records/lookups.h"

#include <fmt/format.h>

namespace convstore::records {

namespace {

Result<int64_t> FindId(sqlite::Connection& conn, const char* sql, std::string_view key, const char* what) {
  auto st = conn.Prepare(sql);
  if (!st.ok()) return st.status();
  st->Bind(1, key);
  auto row = st->Step(fmt::format("find {}", what));
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(fmt::format("{} '{}' does not exist", what, key));
  return st->Int(0);
}

}  // namespace

Result<int64_t> FindOrCreateUser(sqlite::Connection& conn, std::string_view key, int64_t now) {
  auto find = conn.Prepare("SELECT id FROM users WHERE key = ?1");
  if (!find.ok()) return find.status();
  find->Bind(1, key);
  auto row = find->Step("find user");
  if (!row.ok()) return row.status();
  if (*row) return find->Int(0);
  auto ins = conn.Prepare("INSERT INTO users(key, created_at, updated_at) VALUES (?1, ?2, ?2) RETURNING id");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, key).Bind(2, now);
  auto created = ins->Step("create user");
  if (!created.ok()) return created.status();
  return ins->Int(0);
}

Result<int64_t> FindUserId(sqlite::Connection& conn, std::string_view key) {
  return FindId(conn, "SELECT id FROM users WHERE key = ?1", key, "user");
}

Result<int64_t> FindTeamId(sqlite::Connection& conn, std::string_view key) {
  return FindId(conn, "SELECT id FROM teams WHERE key = ?1", key, "team");
}

Result<int64_t> FindConversationRow(sqlite::Connection& conn, std::string_view id) {
  return FindId(conn, "SELECT id FROM conversations WHERE uid = ?1", id, "conversation");
}

Result<int64_t> UserTeamId(sqlite::Connection& conn, int64_t user_id) {
  auto st = conn.Prepare("SELECT coalesce(team_id, 0) FROM users WHERE id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, user_id);
  auto row = st->Step("find user's team");
  if (!row.ok()) return row.status();
  return *row ? st->Int(0) : int64_t{0};
}

}  // namespace convstore::records
