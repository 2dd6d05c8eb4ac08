#include "cost/usage.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "cost/pricing.h"
#include "cost/rollups.h"
#include "metadata/index.h"
#include "store/lookups.h"
#include "store/store_impl.h"
#include "store/validate.h"
#include "util/json_input.h"
#include "util/money.h"
#include "util/uuid.h"

// 21 columns; alias a, with u (user), t (team), c (conversation) joined.
#define CONVSTORE_USAGE_COLUMNS                                                                                    \
  "a.uid, u.key, coalesce(t.key, ''), coalesce(c.uid, ''), a.model, a.endpoint, a.tokens_input, a.tokens_output, " \
  "a.tokens_cached_input, a.tokens_cache_write, a.tokens_reasoning, a.cost_nanousd, a.price_id, a.latency_us, "   \
  "a.status, a.error_code, a.error_message, a.metadata, coalesce(a.request_id, ''), a.recorded_at"
#define CONVSTORE_USAGE_FROM                                                                                    \
  " FROM api_usage a JOIN users u ON u.id = a.user_id LEFT JOIN teams t ON t.id = a.team_id"                  \
  " LEFT JOIN conversations c ON c.id = a.conversation_id"

namespace convstore::cost {

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
  using store::CheckKey;
  using store::CheckRange;
  using store::CheckText;
  if (require_user || !u.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(CheckKey(u.user_key, "user_key"));
  if (u.team_key && !u.team_key->empty()) CONVSTORE_RETURN_IF_ERROR(CheckKey(*u.team_key, "team_key"));
  if (!u.conversation_id.empty()) CONVSTORE_RETURN_IF_ERROR(CheckKey(u.conversation_id, "conversation_id"));
  if (u.model.empty()) return Status::InvalidArgument("model is empty");
  CONVSTORE_RETURN_IF_ERROR(CheckText(u.model, "model", limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(CheckText(u.endpoint, "endpoint", limits::kMaxNameBytes));
  const int64_t max_tokens = limits::kMaxTokenCount;
  CONVSTORE_RETURN_IF_ERROR(CheckRange(u.tokens_input, 0, max_tokens, "tokens_input"));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(u.tokens_output, 0, max_tokens, "tokens_output"));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(u.tokens_cached_input, 0, max_tokens, "tokens_cached_input"));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(u.tokens_cache_write, 0, max_tokens, "tokens_cache_write"));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(u.tokens_reasoning, 0, max_tokens, "tokens_reasoning"));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(u.latency_us, 0, limits::kMaxLatencyUs, "latency_us"));
  if (u.status != "success" && u.status != "error")
    return Status::InvalidArgument("status must be \"success\" or \"error\"");
  CONVSTORE_RETURN_IF_ERROR(CheckText(u.error_code, "error_code", limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(CheckText(u.error_message, "error_message", kMaxErrorMessageBytes));
  if (!u.request_id.empty()) CONVSTORE_RETURN_IF_ERROR(CheckKey(u.request_id, "request_id"));
  CONVSTORE_RETURN_IF_ERROR(store::CheckTimestamp(u.recorded_at, "recorded_at"));
  if (u.cost_nanousd && u.cost_usd) return Status::InvalidArgument("give cost_nanousd or cost_usd, not both");
  out.cost = u.cost_nanousd;
  if (u.cost_usd) {
    auto nano = util::UsdDoubleToNano(*u.cost_usd);
    if (!nano) return Status::InvalidArgument("cost_usd must be a finite number");
    out.cost = *nano;
  }
  CONVSTORE_RETURN_IF_ERROR(CheckRange(out.cost, 0, limits::kMaxCostNanoUsd, "cost (nano-USD)"));
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
  auto st = conn.Prepare("SELECT " CONVSTORE_USAGE_COLUMNS CONVSTORE_USAGE_FROM " WHERE a.id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, row_id);
  auto row = st->Step("read api usage");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ApiUsage>();
  ApiUsage a;
  ReadUsage(*st, a);
  return std::optional<ApiUsage>(std::move(a));
}

Result<ApiUsage> InsertApiUsage(sqlite::Connection& conn, const ValidUsage& v, std::string_view user_key,
                                std::string_view request_id, Micros now, SpendNote* spent) {
  const NewApiUsage& u = *v.in;
  if (spent) *spent = SpendNote{};
  if (!request_id.empty()) {
    auto existing = FindApiUsage(conn, "", request_id);
    if (!existing.ok()) return existing.status();
    if (*existing) {
      if ((*existing)->user_key != user_key)
        return Status::Conflict(
            fmt::format("request_id '{}' was already used for API usage of another user", request_id));
      return std::move(**existing);  // a retry: count nothing twice
    }
  }
  auto user_id = store::FindOrCreateUser(conn, user_key, now);
  if (!user_id.ok()) return user_id.status();
  int64_t team_id = 0;
  if (u.team_key) {
    if (!u.team_key->empty()) {
      auto team = store::FindTeamId(conn, *u.team_key);
      if (!team.ok()) return team.status();
      team_id = *team;
    }
  } else {
    auto team = store::UserTeamId(conn, *user_id);
    if (!team.ok()) return team.status();
    team_id = *team;
  }
  std::optional<int64_t> conversation_row;
  if (!u.conversation_id.empty()) {
    auto conv = store::FindConversationRow(conn, u.conversation_id);
    if (!conv.ok()) return conv.status();
    conversation_row = *conv;
  }
  TokenUse use{u.tokens_input, u.tokens_output, u.tokens_cached_input, u.tokens_cache_write, u.tokens_reasoning};
  auto priced = PriceRow(conn, u.model, v.recorded_at, use, v.cost);
  if (!priced.ok()) return priced.status();

  std::string uid = util::NewUuidV7(v.recorded_at);
  auto ins = conn.Prepare(
      "INSERT INTO api_usage(uid, user_id, team_id, conversation_id, model, endpoint, tokens_input, tokens_output,"
      " tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, price_id, latency_us, status,"
      " error_code, error_message, metadata, request_id, recorded_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, uid).Bind(2, *user_id).Bind(3, team_id == 0 ? std::nullopt : std::optional<int64_t>(team_id));
  ins->Bind(4, conversation_row).Bind(5, u.model).Bind(6, u.endpoint).Bind(7, u.tokens_input);
  ins->Bind(8, u.tokens_output).Bind(9, u.tokens_cached_input).Bind(10, u.tokens_cache_write);
  ins->Bind(11, u.tokens_reasoning).Bind(12, priced->cost).Bind(13, priced->price_id).Bind(14, u.latency_us);
  ins->Bind(15, u.status).Bind(16, u.error_code).Bind(17, u.error_message).Bind(18, v.metadata);
  ins->BindTextOrNull(19, request_id).Bind(20, v.recorded_at);
  CONVSTORE_RETURN_IF_ERROR(ins->Run("insert api usage"));
  CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kApiUsage, {conn.last_insert_rowid()}));

  CostRow row;
  row.at = v.recorded_at;
  row.user_id = *user_id;
  row.team_id = team_id;
  row.model = u.model;
  row.source = kSourceApi;
  row.endpoint = u.endpoint;
  row.status = u.status;
  int64_t tokens[5] = {u.tokens_input.value_or(0), u.tokens_output.value_or(0), u.tokens_cached_input.value_or(0),
                       u.tokens_cache_write.value_or(0), u.tokens_reasoning.value_or(0)};
  std::copy(tokens, tokens + 5, row.tokens);
  row.cost = priced->cost.value_or(0);
  row.latency_us = u.latency_us;
  CONVSTORE_RETURN_IF_ERROR(RecordCostRows(conn, {row}));
  if (spent) *spent = SpendNote{*user_id, team_id, {{row.at, row.cost}}};

  auto stored = FindApiUsage(conn, uid, "");
  if (!stored.ok()) return stored.status();
  if (!*stored) return Status::Internal("api usage row vanished after insert");
  return std::move(**stored);
}

}  // namespace convstore::cost

namespace convstore::store {

Result<ApiUsage> StoreImpl::DoRecordApiUsage(const NewApiUsage& usage) {
  cost::ValidUsage valid;
  const int64_t now = Now();
  CONVSTORE_RETURN_IF_ERROR(cost::ValidateUsage(usage, now, true, valid));
  std::vector<BudgetAlert> alerts;
  auto result = Write("record_api_usage", [&](sqlite::Connection& conn) -> Result<ApiUsage> {
    alerts.clear();
    CONVSTORE_RETURN_IF_ERROR(cost::CheckRequestIdFreeOfReservation(conn, usage.request_id, now));
    cost::SpendNote spent;
    auto recorded = cost::InsertApiUsage(conn, valid, usage.user_key, usage.request_id, now, &spent);
    if (recorded.ok())
      CONVSTORE_RETURN_IF_ERROR(cost::AssessSpend(conn, spent, now, false, recorded->budget_overages,
                                                  options_.on_budget_alert ? &alerts : nullptr));
    return recorded;
  });
  if (result.ok()) NotifyBudgetAlerts(alerts);
  return result;
}

}  // namespace convstore::store
