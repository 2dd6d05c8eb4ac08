#include "records/messages.h"

#include <algorithm>
#include <climits>
#include <iterator>
#include <tuple>

#include <fmt/format.h>

#include "convstore/limits.h"
#include "records/conversation_counters.h"
#include "records/conversations.h"
#include "records/rows.h"
#include "records/tool_calls.h"
#include "util/json_check.h"
#include "util/json_input.h"
#include "util/money.h"
#include "util/uuid.h"
#include "util/validate.h"

namespace convstore::records {

namespace {

bool AddChecked(int64_t& total, const std::optional<int64_t>& v) {
  return !v || !__builtin_add_overflow(total, *v, &total);
}

Status CheckRaw(const std::string& raw, const std::string& field) {
  if (raw.empty()) return Status::OK();
  if (raw.size() > limits::kMaxContentBytes)
    return Status::TooLarge(
        fmt::format("{} is {} bytes; the limit is {}", field, raw.size(), limits::kMaxContentBytes));
  if (util::CheckJsonText(raw) == util::JsonKind::kInvalid)
    return Status::InvalidArgument(field + " is not one valid JSON value");
  return Status::OK();
}

// A tool result as a call's output: the content as JSON when it is JSON, else as a JSON string; "" (no output)
// when that would pass the tool payload limit.
std::string ResultAsOutput(const std::string& content) {
  std::string out;
  if (util::CheckJsonText(content) != util::JsonKind::kInvalid) {
    auto normal = util::NormalizeJson(content, "output", limits::kMaxToolPayloadBytes, false);
    if (normal.ok()) out = std::move(*normal);
  } else {
    out = nlohmann::json(content).dump();
  }
  return out.size() > limits::kMaxToolPayloadBytes ? std::string() : out;
}

}  // namespace

Status ValidateMessage(const NewMessage& m, size_t index, bool batch, int64_t now, ValidMessage& out) {
  std::string where = batch ? fmt::format("messages[{}].", index) : std::string();
  auto field = [&](const char* name) { return where + name; };
  if (RoleName(m.role) == nullptr)
    return Status::InvalidArgument(field("role") + " must be one of user, assistant, system (or developer), tool");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(m.content, field("content"), limits::kMaxContentBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(m.model, field("model"), limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(m.model_version, field("model_version"), limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(m.tokens_input, 0, limits::kMaxTokenCount, field("tokens_input")));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(m.tokens_output, 0, limits::kMaxTokenCount, field("tokens_output")));
  CONVSTORE_RETURN_IF_ERROR(
      util::CheckRange(m.tokens_cached_input, 0, limits::kMaxTokenCount, field("tokens_cached_input")));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(m.tokens_reasoning, 0, limits::kMaxTokenCount, field("tokens_reasoning")));
  CONVSTORE_RETURN_IF_ERROR(
      util::CheckRange(m.tokens_cache_write, 0, limits::kMaxTokenCount, field("tokens_cache_write")));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(m.latency_us, 0, limits::kMaxLatencyUs, field("latency_us")));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(m.created_at, field("created_at")));
  if (!m.request_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(m.request_id, field("request_id")));
  if (!m.tool_call_id.empty()) {
    CONVSTORE_RETURN_IF_ERROR(util::CheckKey(m.tool_call_id, field("tool_call_id")));
    if (m.role != Role::kTool)
      return Status::InvalidArgument(field("tool_call_id") + " is only for tool-role messages (a tool's result)");
  }
  CONVSTORE_RETURN_IF_ERROR(CheckRaw(m.raw_json, field("raw")));
  if (m.tool_calls.size() > limits::kMaxBatchMessages)
    return Status::TooLarge(fmt::format("{} has {} calls; the limit is {}", field("tool_calls"), m.tool_calls.size(),
                                        limits::kMaxBatchMessages));
  out.calls.clear();
  for (size_t i = 0; i < m.tool_calls.size(); ++i) {
    auto call = PrepareToolCall("-", m.tool_calls[i]);
    if (!call.ok())
      return Status(call.status().code(),
                    fmt::format("{}[{}]: {}", field("tool_calls"), i, call.status().message()));
    out.calls.push_back(std::move(*call));
  }
  if (m.cost_nanousd && m.cost_usd)
    return Status::InvalidArgument(where + "give cost_nanousd or cost_usd, not both");
  out.cost = m.cost_nanousd;
  if (m.cost_usd) {
    auto nano = util::UsdDoubleToNano(*m.cost_usd);
    if (!nano) return Status::InvalidArgument(field("cost_usd") + " must be a finite number");
    out.cost = *nano;
  }
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(out.cost, 0, limits::kMaxCostNanoUsd, field("cost (nano-USD)")));
  auto metadata = util::NormalizeJson(m.metadata_json, field("metadata"), limits::kMaxMetadataBytes, true);
  if (!metadata.ok()) return metadata.status();
  out.in = &m;
  out.metadata = std::move(*metadata);
  out.created_at = m.created_at.value_or(now);
  return Status::OK();
}

Result<ConversationCounters> LoadCounters(sqlite::Connection& conn, std::string_view conversation_id, size_t adding) {
  auto found = conn.QueryRow(
      "SELECT c.id, c.next_position, c.message_count, c.tokens_input, c.tokens_output, c.tokens_cached_input, "
      "c.tokens_cache_write, c.tokens_reasoning, c.cost_nanousd, c.user_id, coalesce(u.team_id, 0), "
      "(SELECT max(position) + 1 FROM messages WHERE conversation_id = c.id) "
      "FROM conversations c JOIN users u ON u.id = c.user_id WHERE c.uid = ?1",
      "find conversation",
      [](const sqlite::Stmt& st) {
        ConversationCounters k;
        k.row_id = st.Int(0);
        k.stored_next_position = st.Int(1);
        k.message_count = st.Int(2);
        k.tokens = {st.Int(3), st.Int(4), st.Int(5), st.Int(6), st.Int(7)};
        k.cost = st.Int(8);
        k.user_id = st.Int(9);
        k.team_id = st.Int(10);
        k.next_position = std::max(k.stored_next_position, st.OptInt(11).value_or(0));
        return k;
      },
      conversation_id);
  if (!found.ok()) return found.status();
  if (!*found) return NoSuchConversation(conversation_id);
  ConversationCounters& k = **found;
  // Inserts fold a conversation before kMaxPendingPerConversation of its messages are pending: more means the
  // stored next_position was moved back.
  if (k.stored_next_position < 0 || k.next_position - k.stored_next_position >= kMaxPendingPerConversation)
    return Status::Corruption(fmt::format(
        "conversation '{}': its next_position ({}) is behind its messages (the counter was changed outside "
        "convstore)",
        conversation_id, k.stored_next_position));
  // The totals are checked against the int64 range with the pending messages added; they are read only when the
  // stored totals are close enough to the limit for it to matter.
  const int64_t most = (k.next_position - k.stored_next_position) + static_cast<int64_t>(adding);
  const int64_t token_room = INT64_MAX - most * limits::kMaxTokenCount;
  const bool near = most > INT64_MAX / limits::kMaxCostNanoUsd || k.cost > INT64_MAX - most * limits::kMaxCostNanoUsd ||
                    std::max({k.tokens.input, k.tokens.output, k.tokens.cached_input, k.tokens.cache_write,
                              k.tokens.reasoning}) > token_room;
  if (near) {
    auto pending = ReadPendingMessages(conn, k.row_id, k.stored_next_position);
    if (!pending.ok()) return pending.status();
    CONVSTORE_RETURN_IF_ERROR(AddPendingTotals(*pending, conversation_id, k.message_count, k.tokens, k.cost));
  }
  return std::move(k);
}

Status FoldIfManyPending(sqlite::Connection& conn, const ConversationCounters& k) {
  if (k.next_position - k.stored_next_position < kMaxPendingPerConversation) return Status::OK();
  return FoldConversation(conn, k.row_id);
}

Result<bool> FindByRequestId(sqlite::Connection& conn, std::string_view request_id,
                             const ConversationCounters& conversation, std::string_view conversation_id,
                             Message& out) {
  auto st = conn.Prepare("SELECT m.conversation_id, " CONVSTORE_MESSAGE_COLUMNS
                         " FROM messages m WHERE m.request_id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, request_id);
  auto row = st->Step("find message by request_id");
  if (!row.ok()) return row.status();
  if (!*row) {
    auto deleted = conn.QueryInt("SELECT 1 FROM message_tombstones WHERE request_id = ?1", "find deleted request_id",
                                 request_id);
    if (!deleted.ok()) return deleted.status();
    if (*deleted)
      return Status::Conflict(fmt::format(
          "request_id '{}' was used by a message that has since been deleted; a deleted message is not added again",
          request_id));
    return false;
  }
  if (st->Int(0) != conversation.row_id)
    return Status::Conflict(
        fmt::format("request_id '{}' was already used for a message of another conversation", request_id));
  ReadMessage(*st, 1, conversation_id, out);
  return true;
}

Result<sqlite::Stmt> PrepareMessageInsert(sqlite::Connection& conn) {
  return conn.Prepare(
      "INSERT INTO messages(uid, conversation_id, position, role, content, model, model_version, tokens_input, "
      "tokens_output, tokens_cached_input, tokens_reasoning, cost_nanousd, latency_us, metadata, request_id, "
      "created_at, tokens_cache_write, team_id, price_id, tool_call_id, raw, id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)");
}

Result<int64_t> InsertMessage(sqlite::Connection& conn, sqlite::Stmt& ins, int64_t row_id,
                              std::string_view conversation_id, ConversationCounters& k, const ValidMessage& v,
                              const std::optional<NanoUsd>& cost, const std::optional<int64_t>& price_id,
                              Message& msg) {
  const NewMessage& m = *v.in;
  if (!AddChecked(k.tokens.input, m.tokens_input) || !AddChecked(k.tokens.output, m.tokens_output) ||
      !AddChecked(k.tokens.cached_input, m.tokens_cached_input) ||
      !AddChecked(k.tokens.reasoning, m.tokens_reasoning) ||
      !AddChecked(k.tokens.cache_write, m.tokens_cache_write) || !AddChecked(k.cost, cost))
    return Status::TooLarge(
        fmt::format("conversation '{}' token or cost totals would overflow a 64-bit integer", conversation_id));
  // A tool result's call must be of this conversation: named by the provider's id it recorded, or by convstore's.
  struct Answered {
    std::string uid;
    bool pending = false;
    int64_t created_at = 0;
  };
  std::optional<Answered> answered;
  if (!m.tool_call_id.empty()) {
    auto found = conn.QueryRow(
        "SELECT t.uid, t.status = 'pending', t.created_at FROM tool_calls t JOIN messages c ON c.id = t.message_id"
        " WHERE (t.call_id = ?2 OR t.uid = ?2) AND c.conversation_id = ?1 ORDER BY t.call_id = ?2 DESC LIMIT 1",
        "find tool call",
        [](const sqlite::Stmt& st) { return Answered{st.String(0), st.Int(1) != 0, st.Int(2)}; }, k.row_id,
        m.tool_call_id);
    if (!found.ok()) return found.status();
    if (!*found)
      return Status::NotFound(fmt::format("tool_call_id '{}' names no tool call of conversation '{}'",
                                          m.tool_call_id, conversation_id));
    answered = std::move(**found);
  }
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
  msg.cost_nanousd = cost;
  msg.price_id = price_id;
  msg.latency_us = m.latency_us;
  msg.metadata_json = v.metadata;
  msg.request_id = m.request_id;
  msg.created_at = v.created_at;
  msg.tool_call_id = m.tool_call_id;
  msg.raw_json = m.raw_json;
  ins.Bind(1, msg.id).Bind(2, k.row_id).Bind(3, msg.position).Bind(4, std::string_view(RoleName(m.role)));
  ins.Bind(5, m.content).Bind(6, m.model).Bind(7, m.model_version).Bind(8, m.tokens_input);
  ins.Bind(9, m.tokens_output).Bind(10, m.tokens_cached_input).Bind(11, m.tokens_reasoning).Bind(12, cost);
  ins.Bind(13, m.latency_us).Bind(14, v.metadata).BindTextOrNull(15, m.request_id).Bind(16, v.created_at);
  ins.Bind(17, m.tokens_cache_write).Bind(18, k.team_id == 0 ? std::nullopt : std::optional<int64_t>(k.team_id));
  ins.Bind(19, price_id).BindTextOrNull(20, m.tool_call_id).BindTextOrNull(21, m.raw_json).Bind(22, row_id);
  if (Status s = ins.Run("insert message"); !s.ok()) {
    // The request_id was looked up by the caller and ids are fresh UUIDs: a clash on the position means the
    // conversation's stored counter is behind its messages.
    if (s.code() == Code::kConflict && s.message().find("messages.position") != std::string::npos)
      return Status::Corruption(fmt::format(
          "conversation '{}': its next_position ({}) is already taken by a stored message (the counter was changed "
          "outside convstore)",
          conversation_id, msg.position));
    return s;
  }
  ++k.message_count;
  for (const ToolCall& prepared : v.calls) {
    ToolCall& call = msg.tool_calls.emplace_back(prepared);
    call.message_id = msg.id;
    StampToolCall(call, v.in->tool_calls[msg.tool_calls.size() - 1].created_at.value_or(v.created_at));
    CONVSTORE_RETURN_IF_ERROR(InsertToolCall(conn, call));
  }
  if (answered && answered->pending) {  // the result finishes its call
    ToolCallUpdate done;
    done.status = ToolStatus::kSuccess;
    done.output_json = ResultAsOutput(m.content);
    const int64_t took = v.created_at - answered->created_at;
    if (took >= 0 && took <= limits::kMaxLatencyUs) done.duration_us = took;
    auto finished = UpdateToolCall(conn, answered->uid, done, v.created_at);
    if (!finished.ok()) return finished.status();
  }
  return row_id;
}

Result<StoredMessage> FindMessage(sqlite::Connection& conn, std::string_view message_id) {
  auto found = conn.QueryRow(
      "SELECT m.id, m.conversation_id, c.uid, " CONVSTORE_MESSAGE_COLUMNS
      " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.uid = ?1",
      "find message",
      [](const sqlite::Stmt& st) {
        StoredMessage s;
        s.row_id = st.Int(0);
        s.conversation_row = st.Int(1);
        ReadMessage(st, 3, st.Text(2), s.message);
        return s;
      },
      message_id);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("message '{}' does not exist", message_id));
  return std::move(**found);
}

Result<std::vector<StoredMessage>> ConversationMessages(sqlite::Connection& conn, std::string_view conversation_id,
                                                        bool newest_only) {
  auto conv = conn.QueryInt("SELECT id FROM conversations WHERE uid = ?1", "find conversation", conversation_id);
  if (!conv.ok()) return conv.status();
  if (!*conv) return NoSuchConversation(conversation_id);
  std::vector<StoredMessage> out;
  auto walk = conn.ForEachRow(
      newest_only ? "SELECT m.id, " CONVSTORE_MESSAGE_COLUMNS
                    " FROM messages m WHERE m.conversation_id = ?1 ORDER BY m.position DESC LIMIT 1"
                  : "SELECT m.id, " CONVSTORE_MESSAGE_COLUMNS
                    " FROM messages m WHERE m.conversation_id = ?1 ORDER BY m.position",
      "read messages",
      [&](const sqlite::Stmt& st) {
        StoredMessage& s = out.emplace_back();
        s.row_id = st.Int(0);
        s.conversation_row = **conv;
        ReadMessage(st, 1, conversation_id, s.message);
        return true;
      },
      **conv);
  if (!walk.ok()) return walk.status();
  return out;
}

Status TombstoneMessages(sqlite::Connection& conn, int64_t conversation_row, const std::vector<int64_t>& row_ids,
                         int64_t now) {
  if (row_ids.empty()) return Status::OK();
  auto keep = conn.Prepare(
      "INSERT INTO message_tombstones(conversation_id, message_uid, position, role, model, team_id, tokens_input,"
      " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us,"
      " request_id, created_at, deleted_at)"
      " SELECT conversation_id, uid, position, role, model, team_id, tokens_input, tokens_output,"
      " tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us, request_id,"
      " created_at, ?2 FROM messages WHERE id = ?1");
  if (!keep.ok()) return keep.status();
  auto drop = conn.Prepare("DELETE FROM messages WHERE id = ?1");
  if (!drop.ok()) return drop.status();
  for (int64_t id : row_ids) {
    keep->Bind(1, id).Bind(2, now);
    CONVSTORE_RETURN_IF_ERROR(keep->Run("keep a deleted message's tombstone"));
    drop->Bind(1, id);
    CONVSTORE_RETURN_IF_ERROR(drop->Run("delete message"));
  }
  return conn.Run(
      "UPDATE conversations SET message_count = message_count - ?2, updated_at = max(updated_at, ?3) WHERE id = ?1",
      "update conversation counters", conversation_row, static_cast<int64_t>(row_ids.size()), now);
}

Status ValidateMessageEdit(std::string_view message_id, const MessageEdit& edit, MessageEdit& out) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(message_id, "message id"));
  if (!edit.content && !edit.metadata_json && !edit.raw_json)
    return Status::InvalidArgument("the edit changes nothing: give content, metadata or raw");
  out = edit;
  if (edit.content) CONVSTORE_RETURN_IF_ERROR(util::CheckText(*edit.content, "content", limits::kMaxContentBytes));
  if (edit.raw_json) CONVSTORE_RETURN_IF_ERROR(CheckRaw(*edit.raw_json, "raw"));
  if (edit.metadata_json) {
    auto metadata = util::NormalizeJson(*edit.metadata_json, "metadata", limits::kMaxMetadataBytes, true);
    if (!metadata.ok()) return metadata.status();
    out.metadata_json = std::move(*metadata);
  }
  return Status::OK();
}

Status EditMessageRow(sqlite::Connection& conn, int64_t row_id, const MessageEdit& edit, Message& m) {
  if (edit.content) m.content = *edit.content;
  if (edit.metadata_json) m.metadata_json = *edit.metadata_json;
  if (edit.raw_json) m.raw_json = *edit.raw_json;
  auto st = conn.Prepare("UPDATE messages SET content = ?2, metadata = ?3, raw = ?4 WHERE id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, row_id).Bind(2, m.content).Bind(3, m.metadata_json).BindTextOrNull(4, m.raw_json);
  return st->Run("edit message");
}

Result<std::vector<Message>> LastMessages(sqlite::Connection& conn, std::string_view conversation_id, int64_t count) {
  std::vector<Message> out;
  auto any = conn.ForEachRow(
      "SELECT m.id IS NOT NULL, " CONVSTORE_MESSAGE_COLUMNS
      " FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id WHERE c.uid = ?1"
      " ORDER BY m.position DESC LIMIT ?2",
      "get last messages",
      [&](const sqlite::Stmt& st) {
        if (st.Int(0) == 0) return false;  // no messages
        out.emplace_back();
        ReadMessage(st, 1, conversation_id, out.back());
        return true;
      },
      conversation_id, count);
  if (!any.ok()) return any.status();
  if (!*any) return NoSuchConversation(conversation_id);
  std::reverse(out.begin(), out.end());
  return out;
}

namespace {

int64_t EstimateTokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

// A message's size in a context window under `counting` (ContextCounting in types.h).
int64_t WindowTokens(const Message& m, ContextCounting counting) {
  if (counting == ContextCounting::kStored) {
    const auto& counted = m.role == Role::kAssistant ? m.tokens_output : m.tokens_input;
    if (counted) return *counted;
  }
  return EstimateTokens(m.content.size());
}

}  // namespace

Result<std::vector<Message>> ContextWindow(sqlite::Connection& conn, std::string_view conversation_id,
                                           const ContextOptions& o) {
  auto head = conn.QueryRow(
      "SELECT id, system_prompt, created_at FROM conversations WHERE uid = ?1", "get context",
      [](const sqlite::Stmt& st) { return std::tuple<int64_t, std::string, int64_t>(st.Int(0), st.String(1), st.Int(2)); },
      conversation_id);
  if (!head.ok()) return head.status();
  if (!*head) return NoSuchConversation(conversation_id);
  auto& [row_id, system_prompt, created_at] = **head;

  int64_t used = 0;
  std::vector<Message> system;  // the prompt and the system messages, oldest first
  if (o.include_system) {
    if (!system_prompt.empty()) {
      Message p;
      p.conversation_id = std::string(conversation_id);
      p.position = -1;
      p.role = Role::kSystem;
      p.content = std::move(system_prompt);
      p.created_at = created_at;
      used += EstimateTokens(p.content.size());
      system.push_back(std::move(p));
    }
    // A seek on the partial index messages_system: only the conversation's system rows are visited.
    auto sys = conn.ForEachRow("SELECT " CONVSTORE_MESSAGE_COLUMNS " FROM messages m WHERE m.conversation_id = ?1"
                               " AND m.role = 'system' ORDER BY m.position",
                               "get context (system messages)", [&](const sqlite::Stmt& st) {
                                 system.emplace_back();
                                 ReadMessage(st, 0, conversation_id, system.back());
                                 const int64_t t = WindowTokens(system.back(), o.counting);
                                 used = t > INT64_MAX - used ? INT64_MAX : used + t;
                                 return true;
                               },
                               row_id);
    if (!sys.ok()) return sys.status();
  }

  // Newest first, one unit at a time: tool results read since the last other message belong to the next (older)
  // one, the message that made the call.
  std::vector<Message> chosen;  // newest first
  std::vector<Message> unit;    // newest first
  int64_t unit_tokens = 0;
  bool stopped = false;
  auto close_unit = [&]() {
    if (unit_tokens <= o.max_tokens - used) {
      used += unit_tokens;
      for (Message& m : unit) chosen.push_back(std::move(m));
    } else if (o.overflow == ContextOverflow::kStop) {
      stopped = true;
    }
    unit.clear();
    unit_tokens = 0;
  };
  auto walk = conn.ForEachRow("SELECT " CONVSTORE_MESSAGE_COLUMNS " FROM messages m WHERE m.conversation_id = ?1"
                              " ORDER BY m.position DESC",
                              "get context", [&](const sqlite::Stmt& st) {
                                if (o.include_system && st.Text(2) == "system") return true;  // taken above
                                unit.emplace_back();
                                ReadMessage(st, 0, conversation_id, unit.back());
                                const int64_t t = WindowTokens(unit.back(), o.counting);
                                unit_tokens = t > INT64_MAX - unit_tokens ? INT64_MAX : unit_tokens + t;
                                if (unit.back().role != Role::kTool) close_unit();
                                return !stopped;
                              },
                              row_id);
  if (!walk.ok()) return walk.status();
  if (!stopped && !unit.empty()) close_unit();  // tool results with no earlier message: a unit of their own

  // Oldest first: merge the system messages (by position) with the chosen ones.
  std::reverse(chosen.begin(), chosen.end());
  std::vector<Message> out;
  out.reserve(system.size() + chosen.size());
  std::merge(std::make_move_iterator(system.begin()), std::make_move_iterator(system.end()),
             std::make_move_iterator(chosen.begin()), std::make_move_iterator(chosen.end()), std::back_inserter(out),
             [](const Message& a, const Message& b) { return a.position < b.position; });
  return out;
}

}  // namespace convstore::records
