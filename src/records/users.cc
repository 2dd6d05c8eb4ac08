#include "records/users.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "util/validate.h"

namespace convstore::records {

namespace {

Status CheckOptionalText(const std::optional<std::string>& v, std::string_view what) {
  return v ? util::CheckText(*v, what, limits::kMaxNameBytes) : Status::OK();
}

}  // namespace

Status ValidateTeam(const TeamInput& in) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(in.key, "team key"));
  CONVSTORE_RETURN_IF_ERROR(CheckOptionalText(in.name, "team name"));
  return util::CheckRange(in.monthly_budget_nanousd, 0, limits::kMaxTeamBudgetNanoUsd, "monthly_budget_nanousd");
}

Status ValidateUser(const UserInput& in) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(in.key, "user key"));
  CONVSTORE_RETURN_IF_ERROR(CheckOptionalText(in.email, "email"));
  CONVSTORE_RETURN_IF_ERROR(CheckOptionalText(in.name, "user name"));
  CONVSTORE_RETURN_IF_ERROR(CheckOptionalText(in.role, "user role"));
  if (in.team_key && !in.team_key->empty()) return util::CheckKey(*in.team_key, "team key");
  return Status::OK();
}

Status UpsertTeam(sqlite::Connection& conn, const TeamInput& in, int64_t now) {
  auto st = conn.Prepare(
      "INSERT INTO teams(key, name, monthly_budget_nanousd, created_at, updated_at) "
      "VALUES (?1, coalesce(?2, ''), ?3, ?4, ?4) "
      "ON CONFLICT(key) DO UPDATE SET name = coalesce(?2, name), "
      "  monthly_budget_nanousd = CASE WHEN ?5 THEN ?3 ELSE monthly_budget_nanousd END, updated_at = ?4");
  if (!st.ok()) return st.status();
  st->Bind(1, in.key).Bind(4, now).Bind(5, int64_t{in.monthly_budget_nanousd.has_value()});
  if (in.name) st->Bind(2, *in.name); else st->BindNull(2);
  st->Bind(3, in.monthly_budget_nanousd);
  return st->Run("upsert team");
}

Status UpsertUser(sqlite::Connection& conn, const UserInput& in, int64_t now) {
  std::optional<int64_t> team_id;
  if (in.team_key && !in.team_key->empty()) {
    auto found = conn.QueryInt("SELECT id FROM teams WHERE key = ?1", "find team", std::string_view(*in.team_key));
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound(fmt::format("team '{}' does not exist; create it first", *in.team_key));
    team_id = **found;
  }
  auto st = conn.Prepare(
      "INSERT INTO users(key, email, name, team_id, role, active, created_at, updated_at) "
      "VALUES (?1, coalesce(?2, ''), coalesce(?3, ''), ?4, coalesce(?5, ''), coalesce(?6, 1), ?8, ?8) "
      "ON CONFLICT(key) DO UPDATE SET email = coalesce(?2, email), name = coalesce(?3, name), "
      "  team_id = CASE WHEN ?7 THEN ?4 ELSE team_id END, role = coalesce(?5, role), "
      "  active = coalesce(?6, active), updated_at = ?8");
  if (!st.ok()) return st.status();
  st->Bind(1, in.key).Bind(4, team_id).Bind(7, int64_t{in.team_key.has_value()}).Bind(8, now);
  if (in.email) st->Bind(2, *in.email); else st->BindNull(2);
  if (in.name) st->Bind(3, *in.name); else st->BindNull(3);
  if (in.role) st->Bind(5, *in.role); else st->BindNull(5);
  if (in.active) st->Bind(6, int64_t{*in.active}); else st->BindNull(6);
  return st->Run("upsert user");
}

Result<Team> SelectTeam(sqlite::Connection& conn, std::string_view key) {
  auto team = conn.QueryRow(
      "SELECT key, name, monthly_budget_nanousd, created_at, updated_at FROM teams WHERE key = ?1", "get team",
      [](const sqlite::Stmt& st) {
        Team t;
        t.key = st.Text(0);
        t.name = st.Text(1);
        t.monthly_budget_nanousd = st.OptInt(2);
        t.created_at = st.Int(3);
        t.updated_at = st.Int(4);
        return t;
      },
      key);
  if (!team.ok()) return team.status();
  if (!*team) return Status::NotFound(fmt::format("team '{}' does not exist", key));
  return std::move(**team);
}

Result<User> SelectUser(sqlite::Connection& conn, std::string_view key) {
  auto user = conn.QueryRow(
      "SELECT u.key, u.email, u.name, coalesce(t.key, ''), u.role, u.active, u.created_at, u.updated_at "
      "FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.key = ?1",
      "get user",
      [](const sqlite::Stmt& st) {
        User u;
        u.key = st.Text(0);
        u.email = st.Text(1);
        u.name = st.Text(2);
        u.team_key = st.Text(3);
        u.role = st.Text(4);
        u.active = st.Int(5) != 0;
        u.created_at = st.Int(6);
        u.updated_at = st.Int(7);
        return u;
      },
      key);
  if (!user.ok()) return user.status();
  if (!*user) return Status::NotFound(fmt::format("user '{}' does not exist", key));
  return std::move(**user);
}

}  // namespace convstore::records
