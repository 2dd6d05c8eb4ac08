// Messages: add one or many (all or nothing, idempotent by request_id), and the token-budgeted context window.
#include <algorithm>

#include <fmt/format.h>

#include "convstore/limits.h"
#include "cost/budgets.h"
#include "cost/pricing.h"
#include "cost/rollups.h"
#include "store/rows.h"
#include "metadata/index.h"
#include "store/store_impl.h"
#include "store/validate.h"
#include "util/json_input.h"
#include "util/money.h"
#include "util/uuid.h"

namespace convstore::store {

namespace {

// A NewMessage after validation: everything the insert needs, computed before the write lock is taken.
struct ValidMessage {
  const NewMessage* in;
  std::string metadata;
  std::optional<NanoUsd> cost;
  int64_t created_at;
};

Status ValidateMessage(const NewMessage& m, size_t index, bool batch, int64_t now, ValidMessage& out) {
  std::string where = batch ? fmt::format("messages[{}].", index) : std::string();
  auto field = [&](const char* name) { return where + name; };
  if (RoleName(m.role) == nullptr)
    return Status::InvalidArgument(field("role") + " must be one of user, assistant, system, tool");
  CONVSTORE_RETURN_IF_ERROR(CheckText(m.content, field("content"), limits::kMaxContentBytes));
  CONVSTORE_RETURN_IF_ERROR(CheckText(m.model, field("model"), limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(CheckText(m.model_version, field("model_version"), limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(m.tokens_input, 0, limits::kMaxTokenCount, field("tokens_input")));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(m.tokens_output, 0, limits::kMaxTokenCount, field("tokens_output")));
  CONVSTORE_RETURN_IF_ERROR(
      CheckRange(m.tokens_cached_input, 0, limits::kMaxTokenCount, field("tokens_cached_input")));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(m.tokens_reasoning, 0, limits::kMaxTokenCount, field("tokens_reasoning")));
  CONVSTORE_RETURN_IF_ERROR(
      CheckRange(m.tokens_cache_write, 0, limits::kMaxTokenCount, field("tokens_cache_write")));
  CONVSTORE_RETURN_IF_ERROR(CheckRange(m.latency_us, 0, limits::kMaxLatencyUs, field("latency_us")));
  CONVSTORE_RETURN_IF_ERROR(CheckTimestamp(m.created_at, field("created_at")));
  if (!m.request_id.empty()) CONVSTORE_RETURN_IF_ERROR(CheckKey(m.request_id, field("request_id")));
  if (m.cost_nanousd && m.cost_usd)
    return Status::InvalidArgument(where + "give cost_nanousd or cost_usd, not both");
  out.cost = m.cost_nanousd;
  if (m.cost_usd) {
    auto nano = util::UsdDoubleToNano(*m.cost_usd);
    if (!nano) return Status::InvalidArgument(field("cost_usd") + " must be a finite number");
    out.cost = *nano;
  }
  CONVSTORE_RETURN_IF_ERROR(CheckRange(out.cost, 0, limits::kMaxCostNanoUsd, field("cost (nano-USD)")));
  auto metadata = util::NormalizeJson(m.metadata_json, field("metadata"), limits::kMaxMetadataBytes, true);
  if (!metadata.ok()) return metadata.status();
  out.in = &m;
  out.metadata = std::move(*metadata);
  out.created_at = m.created_at.value_or(now);
  return Status::OK();
}

// The conversation's counters as read at the start of the write transaction and advanced per inserted message.
struct Counters {
  int64_t row_id, next_position, message_count, updated_at;
  int64_t tokens[5];  // input, output, cached_input, reasoning, cache_write
  int64_t cost;
  int64_t user_id, team_id;  // team_id 0: the user has no team
};

bool AddChecked(int64_t& total, const std::optional<int64_t>& v) {
  return !v || !__builtin_add_overflow(total, *v, &total);
}

// Returns the message with this request_id in `out` (true) or nothing (false). Conflict if it belongs to
// another conversation.
Result<bool> FindByRequestId(sqlite::Connection& conn, std::string_view request_id, int64_t conversation_row,
                             std::string_view conversation_id, Message& out) {
  auto st = conn.Prepare("SELECT m.conversation_id, " CONVSTORE_MESSAGE_COLUMNS
                         " FROM messages m WHERE m.request_id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, request_id);
  auto row = st->Step("find message by request_id");
  if (!row.ok()) return row.status();
  if (!*row) return false;
  if (st->Int(0) != conversation_row)
    return Status::Conflict(
        fmt::format("request_id '{}' was already used for a message of another conversation", request_id));
  ReadMessage(*st, 1, conversation_id, out);
  return true;
}

// Inserts the messages into the conversation and advances its counters; runs inside the caller's transaction.
Status InsertMessages(sqlite::Connection& conn, std::string_view conversation_id, const ValidMessage* msgs, size_t n,
                      std::vector<Message>& out, cost::SpendNote& spent) {
  auto conv = conn.Prepare(
      "SELECT c.id, c.next_position, c.message_count, c.updated_at, c.tokens_input, c.tokens_output, "
      "c.tokens_cached_input, c.tokens_reasoning, c.tokens_cache_write, c.cost_nanousd, c.user_id, "
      "coalesce(u.team_id, 0) FROM conversations c JOIN users u ON u.id = c.user_id WHERE c.uid = ?1");
  if (!conv.ok()) return conv.status();
  conv->Bind(1, conversation_id);
  auto found = conv->Step("find conversation");
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("conversation '{}' does not exist", conversation_id));
  Counters k{conv->Int(0), conv->Int(1), conv->Int(2), conv->Int(3),
             {conv->Int(4), conv->Int(5), conv->Int(6), conv->Int(7), conv->Int(8)},
             conv->Int(9), conv->Int(10), conv->Int(11)};
  const int64_t before_count = k.message_count;
  spent = cost::SpendNote{k.user_id, k.team_id, {}};

  auto ins = conn.Prepare(
      "INSERT INTO messages(uid, conversation_id, position, role, content, model, model_version, tokens_input, "
      "tokens_output, tokens_cached_input, tokens_reasoning, cost_nanousd, latency_us, metadata, request_id, "
      "created_at, tokens_cache_write, team_id, price_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)");
  if (!ins.ok()) return ins.status();
  std::vector<cost::CostRow> cost_rows;
  cost_rows.reserve(n);
  std::vector<int64_t> inserted;
  inserted.reserve(n);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const ValidMessage& v = msgs[i];
    const NewMessage& m = *v.in;
    Message& msg = out.emplace_back();
    if (!m.request_id.empty()) {
      auto existing = FindByRequestId(conn, m.request_id, k.row_id, conversation_id, msg);
      if (!existing.ok()) return existing.status();
      if (*existing) continue;  // a retry: return the stored message, count nothing
    }
    cost::TokenUse use{m.tokens_input, m.tokens_output, m.tokens_cached_input, m.tokens_cache_write,
                       m.tokens_reasoning};
    auto priced = cost::PriceRow(conn, m.model, v.created_at, use, v.cost);
    if (!priced.ok()) return priced.status();
    if (!AddChecked(k.tokens[0], m.tokens_input) || !AddChecked(k.tokens[1], m.tokens_output) ||
        !AddChecked(k.tokens[2], m.tokens_cached_input) || !AddChecked(k.tokens[3], m.tokens_reasoning) ||
        !AddChecked(k.tokens[4], m.tokens_cache_write) || !AddChecked(k.cost, priced->cost))
      return Status::TooLarge(
          fmt::format("conversation '{}' token or cost totals would overflow a 64-bit integer", conversation_id));
    msg.id = util::NewUuidV7(v.created_at);
    msg.conversation_id = conversation_id;
    msg.position = k.next_position++;
    msg.role = m.role;
    msg.content = m.content;
    msg.model = m.model;
    msg.model_version = m.model_version;
    msg.tokens_input = m.tokens_input;
    msg.tokens_output = m.tokens_output;
    msg.tokens_cached_input = m.tokens_cached_input;
    msg.tokens_reasoning = m.tokens_reasoning;
    msg.tokens_cache_write = m.tokens_cache_write;
    msg.cost_nanousd = priced->cost;
    msg.price_id = priced->price_id;
    msg.latency_us = m.latency_us;
    msg.metadata_json = v.metadata;
    msg.request_id = m.request_id;
    msg.created_at = v.created_at;
    ins->Bind(1, msg.id).Bind(2, k.row_id).Bind(3, msg.position).Bind(4, std::string_view(RoleName(m.role)));
    ins->Bind(5, m.content).Bind(6, m.model).Bind(7, m.model_version).Bind(8, m.tokens_input);
    ins->Bind(9, m.tokens_output).Bind(10, m.tokens_cached_input).Bind(11, m.tokens_reasoning).Bind(12, priced->cost);
    ins->Bind(13, m.latency_us).Bind(14, v.metadata).BindTextOrNull(15, m.request_id).Bind(16, v.created_at);
    ins->Bind(17, m.tokens_cache_write).Bind(18, k.team_id == 0 ? std::nullopt : std::optional<int64_t>(k.team_id));
    ins->Bind(19, priced->price_id);
    if (Status s = ins->Run("insert message"); !s.ok()) {
      // The request_id was looked up above and ids are fresh UUIDs: a clash on the position means the
      // conversation's stored counter is behind its messages.
      if (s.code() == Code::kConflict && s.message().find("messages.position") != std::string::npos)
        return Status::Corruption(fmt::format(
            "conversation '{}': its next_position ({}) is already taken by a stored message (the counter was changed "
            "outside convstore)",
            conversation_id, msg.position));
      return s;
    }
    inserted.push_back(conn.last_insert_rowid());
    cost::CostRow& row = cost_rows.emplace_back();
    row.at = v.created_at;
    row.user_id = k.user_id;
    row.team_id = k.team_id;
    row.model = m.model;
    row.role = RoleName(m.role);
    int64_t tokens[5] = {m.tokens_input.value_or(0), m.tokens_output.value_or(0), m.tokens_cached_input.value_or(0),
                         m.tokens_cache_write.value_or(0), m.tokens_reasoning.value_or(0)};
    std::copy(tokens, tokens + 5, row.tokens);
    row.cost = priced->cost.value_or(0);
    row.latency_us = m.latency_us;
    if (row.cost > 0) spent.rows.emplace_back(row.at, row.cost);
    ++k.message_count;
    k.updated_at = std::max(k.updated_at, v.created_at);
  }
  if (k.message_count == before_count) return Status::OK();  // every message was a retry

  auto upd = conn.Prepare(
      "UPDATE conversations SET next_position = ?2, message_count = ?3, updated_at = ?4, tokens_input = ?5, "
      "tokens_output = ?6, tokens_cached_input = ?7, tokens_reasoning = ?8, cost_nanousd = ?9, "
      "tokens_cache_write = ?10 WHERE id = ?1");
  if (!upd.ok()) return upd.status();
  upd->Bind(1, k.row_id).Bind(2, k.next_position).Bind(3, k.message_count).Bind(4, k.updated_at);
  upd->Bind(5, k.tokens[0]).Bind(6, k.tokens[1]).Bind(7, k.tokens[2]).Bind(8, k.tokens[3]).Bind(9, k.cost);
  upd->Bind(10, k.tokens[4]);
  CONVSTORE_RETURN_IF_ERROR(upd->Run("update conversation counters"));
  CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kMessages, inserted));
  return cost::RecordCostRows(conn, cost_rows);
}

// Tokens a message occupies in a context window (see GetContext in store.h).
int64_t ContextTokens(const Message& m) {
  const auto& counted = m.role == Role::kAssistant ? m.tokens_output : m.tokens_input;
  if (counted) return *counted;
  return static_cast<int64_t>((m.content.size() + 3) / 4);
}

}  // namespace

Result<Message> StoreImpl::DoAddMessage(std::string_view conversation_id, const NewMessage& message) {
  CONVSTORE_RETURN_IF_ERROR(CheckKey(conversation_id, "conversation id"));
  ValidMessage valid;
  const int64_t now = Now();
  CONVSTORE_RETURN_IF_ERROR(ValidateMessage(message, 0, false, now, valid));
  std::vector<BudgetAlert> alerts;
  auto result = Write("add_message", [&](sqlite::Connection& conn) -> Result<Message> {
    std::vector<Message> out;
    cost::SpendNote spent;
    CONVSTORE_RETURN_IF_ERROR(InsertMessages(conn, conversation_id, &valid, 1, out, spent));
    alerts.clear();
    if (options_.on_budget_alert) CONVSTORE_RETURN_IF_ERROR(cost::CollectBudgetAlerts(conn, spent, now, alerts));
    return std::move(out.front());
  });
  if (result.ok()) NotifyBudgetAlerts(alerts);
  return result;
}

Result<std::vector<Message>> StoreImpl::DoAddMessages(std::string_view conversation_id,
                                                    const std::vector<NewMessage>& messages) {
  CONVSTORE_RETURN_IF_ERROR(CheckKey(conversation_id, "conversation id"));
  if (messages.empty()) return Status::InvalidArgument("messages is empty");
  if (messages.size() > limits::kMaxBatchMessages)
    return Status::TooLarge(
        fmt::format("{} messages in one batch; the limit is {}", messages.size(), limits::kMaxBatchMessages));
  size_t bytes = 0;
  for (const NewMessage& m : messages) bytes += m.content.size() + m.metadata_json.size();
  if (bytes > limits::kMaxBatchBytes)
    return Status::TooLarge(fmt::format("the batch carries {} bytes of content and metadata; the limit is {}", bytes,
                                        limits::kMaxBatchBytes));
  int64_t now = Now();
  std::vector<ValidMessage> valid(messages.size());
  for (size_t i = 0; i < messages.size(); ++i)
    CONVSTORE_RETURN_IF_ERROR(ValidateMessage(messages[i], i, true, now, valid[i]));
  std::vector<BudgetAlert> alerts;
  auto result = Write("add_messages", [&](sqlite::Connection& conn) -> Result<std::vector<Message>> {
    std::vector<Message> out;
    cost::SpendNote spent;
    CONVSTORE_RETURN_IF_ERROR(InsertMessages(conn, conversation_id, valid.data(), valid.size(), out, spent));
    alerts.clear();
    if (options_.on_budget_alert) CONVSTORE_RETURN_IF_ERROR(cost::CollectBudgetAlerts(conn, spent, now, alerts));
    return out;
  });
  if (result.ok()) NotifyBudgetAlerts(alerts);
  return result;
}

Result<std::vector<Message>> StoreImpl::DoGetContext(std::string_view conversation_id, int64_t max_tokens) {
  CONVSTORE_RETURN_IF_ERROR(CheckKey(conversation_id, "conversation id"));
  if (max_tokens < 0) return Status::InvalidArgument(fmt::format("max_tokens is {}; it must be >= 0", max_tokens));
  return Read("get_context", [&](sqlite::Connection& conn) -> Result<std::vector<Message>> {
    // Newest first, stopping at the first message that does not fit; one statement, one snapshot.
    auto st = conn.Prepare("SELECT m.id IS NOT NULL, " CONVSTORE_MESSAGE_COLUMNS
                           " FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id"
                           " WHERE c.uid = ?1 ORDER BY m.position DESC");
    if (!st.ok()) return st.status();
    st->Bind(1, conversation_id);
    std::vector<Message> out;
    int64_t used = 0;
    for (bool first = true;; first = false) {
      auto row = st->Step("get context");
      if (!row.ok()) return row.status();
      if (!*row) {
        if (first) return Status::NotFound(fmt::format("conversation '{}' does not exist", conversation_id));
        break;
      }
      if (st->Int(0) == 0) break;  // no messages
      Message m;
      ReadMessage(*st, 1, conversation_id, m);
      int64_t tokens = ContextTokens(m);
      if (tokens > max_tokens - used) break;
      used += tokens;
      out.push_back(std::move(m));
    }
    std::reverse(out.begin(), out.end());
    return out;
  });
}

}  // namespace convstore::store
