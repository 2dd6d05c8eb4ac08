#include "search/row_filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "convstore/limits.h"
#include "records/lookups.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::search {

namespace {

// Every statement binds ?1 user row, ?2 team row, ?3 conversation row, ?4 role, ?5 model, ?6 from, ?7 to, ?8 1 to
// return the metadata; the driver (the most selective key given) is an equality the planner takes to an index,
// the rest are checks on each row. Three drivers per target: a conversation, a user's conversations, everything.
enum Driver { kByConversation = 0, kByUser = 1, kScan = 2 };

constexpr const char* kMessageChecks =
    " AND (?1 IS NULL OR c.user_id = ?1) AND (?2 IS NULL OR ifnull(m.team_id, 0) = ?2)"
    " AND (?3 IS NULL OR m.conversation_id = ?3) AND (?4 IS NULL OR m.role = ?4) AND (?5 IS NULL OR m.model = ?5)"
    " AND (?6 IS NULL OR m.created_at >= ?6) AND (?7 IS NULL OR m.created_at < ?7)";
constexpr const char* kConversationChecks =
    " AND (?1 IS NULL OR c.user_id = ?1)"
    " AND (?2 IS NULL OR (SELECT ifnull(u.team_id, 0) FROM users u WHERE u.id = c.user_id) = ?2)"
    " AND (?3 IS NULL OR c.id = ?3) AND ?4 IS NULL AND (?5 IS NULL OR c.model = ?5)"
    " AND (?6 IS NULL OR c.created_at >= ?6) AND (?7 IS NULL OR c.created_at < ?7)";

const std::string& FilterSqlOf(TextSearchTarget target, Driver driver) {
  static const std::array<std::array<std::string, 3>, 2> kSql = {{
      {fmt::format("SELECT c.id, CASE WHEN ?8 THEN c.metadata END FROM conversations c WHERE c.id = ?3{}",
                   kConversationChecks),
       fmt::format("SELECT c.id, CASE WHEN ?8 THEN c.metadata END FROM conversations c WHERE c.user_id = ?1{}",
                   kConversationChecks),
       fmt::format("SELECT c.id, CASE WHEN ?8 THEN c.metadata END FROM conversations c WHERE 1{}",
                   kConversationChecks)},
      {fmt::format("SELECT m.id, CASE WHEN ?8 THEN m.metadata END FROM messages m"
                   " JOIN conversations c ON c.id = m.conversation_id WHERE m.conversation_id = ?3{}",
                   kMessageChecks),
       fmt::format("SELECT m.id, CASE WHEN ?8 THEN m.metadata END FROM conversations c"
                   " JOIN messages m ON m.conversation_id = c.id WHERE c.user_id = ?1{}",
                   kMessageChecks),
       fmt::format("SELECT m.id, CASE WHEN ?8 THEN m.metadata END FROM messages m"
                   " JOIN conversations c ON c.id = m.conversation_id WHERE 1{}",
                   kMessageChecks)},
  }};
  return kSql[target == TextSearchTarget::kMessages ? 1 : 0][driver];
}

}  // namespace

Status ValidateFilter(const SearchFilter& f, TextSearchTarget target) {
  if (!f.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(f.user_key, "filter.user_key"));
  if (!f.team_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(f.team_key, "filter.team_key"));
  if (!f.conversation_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(f.conversation_id, "filter.conversation_id"));
  if (!f.role.empty()) {
    if (target != TextSearchTarget::kMessages) return Status::InvalidArgument("filter.role applies to messages only");
    if (f.role != "user" && f.role != "assistant" && f.role != "system" && f.role != "tool")
      return Status::InvalidArgument("filter.role must be user, assistant, system or tool");
  }
  if (!f.model.empty()) {
    CONVSTORE_RETURN_IF_ERROR(util::CheckText(f.model, "filter.model", limits::kMaxNameBytes));
    if (f.model.find('\0') != std::string::npos) return Status::InvalidArgument("filter.model contains a NUL byte");
  }
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(f.from, "filter.from"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(f.to, "filter.to"));
  if (f.from && f.to && *f.from > *f.to) return Status::InvalidArgument("filter.from is after filter.to");
  return Status::OK();
}

bool Restricts(const SearchFilter& f, const RowPredicate& metadata) {
  return !f.user_key.empty() || !f.team_key.empty() || !f.conversation_id.empty() || !f.role.empty() ||
         !f.model.empty() || f.from.has_value() || f.to.has_value() || static_cast<bool>(metadata);
}

Result<FilterRows> ResolveFilterKeys(sqlite::Connection& conn, const SearchFilter& f) {
  FilterRows out;
  auto resolve = [&](const std::string& key, auto find, std::optional<int64_t>& id) -> Status {
    if (key.empty()) return Status::OK();
    auto row = records::RowOrNone(find(conn, key));
    if (!row.ok()) return row.status();
    id = *row;
    out.none = out.none || *row == records::kNoSuchRow;
    return Status::OK();
  };
  CONVSTORE_RETURN_IF_ERROR(resolve(f.user_key, records::FindUserId, out.user));
  CONVSTORE_RETURN_IF_ERROR(resolve(f.team_key, records::FindTeamId, out.team));
  CONVSTORE_RETURN_IF_ERROR(resolve(f.conversation_id, records::FindConversationRow, out.conversation));
  return out;
}

Result<std::vector<int64_t>> RowsMatching(sqlite::Connection& conn, TextSearchTarget target, const SearchFilter& f,
                                          const RowPredicate& metadata) {
  std::vector<int64_t> rows;
  auto keys = ResolveFilterKeys(conn, f);
  if (!keys.ok()) return keys.status();
  if (keys->none) return rows;  // an unknown key selects nothing
  const std::optional<int64_t>& user = keys->user;
  const std::optional<int64_t>& team = keys->team;
  const std::optional<int64_t>& conversation = keys->conversation;

  const Driver driver = conversation ? kByConversation : user ? kByUser : kScan;
  auto st = conn.Prepare(FilterSqlOf(target, driver).c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, user).Bind(2, team).Bind(3, conversation).BindTextOrNull(4, f.role).BindTextOrNull(5, f.model);
  st->Bind(6, f.from).Bind(7, f.to).Bind(8, int64_t{metadata ? 1 : 0});
  for (;;) {
    auto row = st->Step("select the filtered rows");
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!*row) break;
    if (metadata && !metadata(st->Text(1))) continue;
    rows.push_back(st->Int(0));
  }
  st->Reset();
  if (driver == kByUser) std::sort(rows.begin(), rows.end());  // conversation by conversation: not ascending
  return rows;
}

Result<bool> ReadHitRow(sqlite::Connection& conn, TextSearchTarget target, int64_t row, HitRow& hit) {
  if (target == TextSearchTarget::kMessages) {
    return conn.ForEachRow(
        "SELECT m.uid, c.uid, c.title, u.key, m.role, m.model, m.content, m.created_at FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id JOIN users u ON u.id = c.user_id WHERE m.id = ?1",
        "read a search hit",
        [&](const sqlite::Stmt& st) {
          hit.message_id = st.String(0);
          hit.conversation_id = st.String(1);
          hit.conversation_title = st.String(2);
          hit.user_key = st.String(3);
          hit.role = st.String(4);
          hit.model = st.String(5);
          hit.content = st.String(6);
          hit.created_at = st.Int(7);
          return false;
        },
        row);
  }
  return conn.ForEachRow(
      "SELECT c.uid, c.title, u.key, c.model, c.created_at FROM conversations c JOIN users u ON u.id = c.user_id"
      " WHERE c.id = ?1",
      "read a search hit",
      [&](const sqlite::Stmt& st) {
        hit.message_id.clear();
        hit.role.clear();
        hit.conversation_id = st.String(0);
        hit.conversation_title = st.String(1);
        hit.user_key = st.String(2);
        hit.model = st.String(3);
        hit.content = hit.conversation_title;
        hit.created_at = st.Int(4);
        return false;
      },
      row);
}

}  // namespace convstore::search
