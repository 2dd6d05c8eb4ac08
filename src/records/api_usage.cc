#include "records/api_usage.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "records/lookups.h"
#include "util/validate.h"
#include "util/json_input.h"
#include "util/money.h"

// 21 columns; alias a, with u (user), t (team), c (conversation) joined.
#define CONVSTORE_USAGE_COLUMNS                                                                                    \
  "a.uid, u.key, coalesce(t.key, ''), coalesce(c.uid, ''), a.model, a.endpoint, a.tokens_input, a.tokens_output, " \
  "a.tokens_cached_input, a.tokens_cache_write, a.tokens_reasoning, a.cost_nanousd, a.price_id, a.latency_us, "   \
  "a.status, a.error_code, a.error_message, a.metadata, coalesce(a.request_id, ''), a.recorded_at"
#define CONVSTORE_USAGE_FROM                                                                                    \
  " FROM api_usage a JOIN users u ON u.id = a.user_id LEFT JOIN teams t ON t.id = a.team_id"                  \
  " LEFT JOIN conversations c ON c.id = a.conversation_id"

namespace convstore::records {

namespace {

constexpr size_t kMaxErrorMessageBytes = 64 << 10;

void ReadUsage(const sqlite::Stmt& st, ApiUsage& a) {
  a.id = st.String(0);
  a.user_key = st.String(1);
  a.team_key = st.String(2);
  a.conversation_id = st.String(3);
  a.model = st.String(4);
  a.endpoint = st.String(5);
  a.tokens_input = st.OptInt(6);
  a.tokens_output = st.OptInt(7);
  a.tokens_cached_input = st.OptInt(8);
  a.tokens_cache_write = st.OptInt(9);
  a.tokens_reasoning = st.OptInt(10);
  a.cost_nanousd = st.OptInt(11);
  a.price_id = st.OptInt(12);
  a.latency_us = st.OptInt(13);
  a.status = st.String(14);
  a.error_code = st.String(15);
  a.error_message = st.String(16);
  a.metadata_json = st.String(17);
  a.request_id = st.String(18);
  a.recorded_at = st.Int(19);
}

}  // namespace

Status ValidateUsage(const NewApiUsage& u, Micros now, bool require_user, ValidUsage& out) {
  if (require_user || !u.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(u.user_key, "user_key"));
  if (u.team_key && !u.team_key->empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(*u.team_key, "team_key"));
  if (!u.conversation_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(u.conversation_id, "conversation_id"));
  if (u.model.empty()) return Status::InvalidArgument("model is empty");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(u.model, "model", limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(u.endpoint, "endpoint", limits::kMaxNameBytes));
  const int64_t max_tokens = limits::kMaxTokenCount;
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(u.tokens_input, 0, max_tokens, "tokens_input"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(u.tokens_output, 0, max_tokens, "tokens_output"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(u.tokens_cached_input, 0, max_tokens, "tokens_cached_input"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(u.tokens_cache_write, 0, max_tokens, "tokens_cache_write"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(u.tokens_reasoning, 0, max_tokens, "tokens_reasoning"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(u.latency_us, 0, limits::kMaxLatencyUs, "latency_us"));
  if (u.status != "success" && u.status != "error")
    return Status::InvalidArgument("status must be \"success\" or \"error\"");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(u.error_code, "error_code", limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(u.error_message, "error_message", kMaxErrorMessageBytes));
  if (!u.request_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(u.request_id, "request_id"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(u.recorded_at, "recorded_at"));
  if (u.cost_nanousd && u.cost_usd) return Status::InvalidArgument("give cost_nanousd or cost_usd, not both");
  out.cost = u.cost_nanousd;
  if (u.cost_usd) {
    auto nano = util::UsdDoubleToNano(*u.cost_usd);
    if (!nano) return Status::InvalidArgument("cost_usd must be a finite number");
    out.cost = *nano;
  }
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(out.cost, 0, limits::kMaxCostNanoUsd, "cost (nano-USD)"));
  auto metadata = util::NormalizeJson(u.metadata_json, "metadata", limits::kMaxMetadataBytes, true);
  if (!metadata.ok()) return metadata.status();
  out.in = &u;
  out.metadata = std::move(*metadata);
  out.recorded_at = u.recorded_at.value_or(now);
  return Status::OK();
}

Result<std::optional<ApiUsage>> FindApiUsage(sqlite::Connection& conn, std::string_view uid,
                                             std::string_view request_id) {
  auto st = conn.Prepare("SELECT " CONVSTORE_USAGE_COLUMNS CONVSTORE_USAGE_FROM
                         " WHERE a.uid = ?1 OR a.request_id = ?2");
  if (!st.ok()) return st.status();
  st->Bind(1, uid).BindTextOrNull(2, request_id);
  auto row = st->Step("find api usage");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ApiUsage>();
  ApiUsage a;
  ReadUsage(*st, a);
  return std::optional<ApiUsage>(std::move(a));
}

Result<std::optional<ApiUsage>> ApiUsageByRowId(sqlite::Connection& conn, int64_t row_id) {
  return conn.QueryRow(
      "SELECT " CONVSTORE_USAGE_COLUMNS CONVSTORE_USAGE_FROM " WHERE a.id = ?1", "read api usage",
      [](const sqlite::Stmt& st) {
        ApiUsage a;
        ReadUsage(st, a);
        return a;
      },
      row_id);
}

Result<UsageOwner> ResolveUsageOwner(sqlite::Connection& conn, const NewApiUsage& u, std::string_view user_key,
                                     Micros now) {
  UsageOwner owner;
  auto user_id = FindOrCreateUser(conn, user_key, now);
  if (!user_id.ok()) return user_id.status();
  owner.user_id = *user_id;
  if (u.team_key) {
    if (!u.team_key->empty()) {
      auto team = FindTeamId(conn, *u.team_key);
      if (!team.ok()) return team.status();
      owner.team_id = *team;
    }
  } else {
    auto team = UserTeamId(conn, *user_id);
    if (!team.ok()) return team.status();
    owner.team_id = *team;
  }
  if (!u.conversation_id.empty()) {
    auto conv = FindConversationRow(conn, u.conversation_id);
    if (!conv.ok()) return conv.status();
    owner.conversation_row = *conv;
  }
  return owner;
}

Result<int64_t> InsertApiUsageRow(sqlite::Connection& conn, const ValidUsage& v, const UsageOwner& owner,
                                  std::string_view uid, std::string_view request_id,
                                  const std::optional<NanoUsd>& cost, const std::optional<int64_t>& price_id) {
  const NewApiUsage& u = *v.in;
  auto ins = conn.Prepare(
      "INSERT INTO api_usage(uid, user_id, team_id, conversation_id, model, endpoint, tokens_input, tokens_output,"
      " tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, price_id, latency_us, status,"
      " error_code, error_message, metadata, request_id, recorded_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, uid).Bind(2, owner.user_id);
  ins->Bind(3, owner.team_id == 0 ? std::nullopt : std::optional<int64_t>(owner.team_id));
  ins->Bind(4, owner.conversation_row).Bind(5, u.model).Bind(6, u.endpoint).Bind(7, u.tokens_input);
  ins->Bind(8, u.tokens_output).Bind(9, u.tokens_cached_input).Bind(10, u.tokens_cache_write);
  ins->Bind(11, u.tokens_reasoning).Bind(12, cost).Bind(13, price_id).Bind(14, u.latency_us);
  ins->Bind(15, u.status).Bind(16, u.error_code).Bind(17, u.error_message).Bind(18, v.metadata);
  ins->BindTextOrNull(19, request_id).Bind(20, v.recorded_at);
  CONVSTORE_RETURN_IF_ERROR(ins->Run("insert api usage"));
  return conn.last_insert_rowid();
}

}  // namespace convstore::records
