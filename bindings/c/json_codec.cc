#include "json_codec.h"

#include "json_fields.h"

#include <cmath>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "convstore/limits.h"
#include "util/json_input.h"
#include "util/json_writer.h"
#include "util/money.h"
#include "util/time.h"

namespace convstore::capi {

using nlohmann::json;
using util::JsonWriter;

namespace {

// The fields of a new tool call; `status` is parsed by the caller.
Status ReadNewToolCall(Fields& f, NewToolCall& t, std::optional<std::string>& status) {
  CONVSTORE_RETURN_IF_ERROR(f.Str("tool_name", t.tool_name));
  CONVSTORE_RETURN_IF_ERROR(f.Doc("input", t.input_json, false));
  CONVSTORE_RETURN_IF_ERROR(f.Doc("output", t.output_json, false));
  if (t.output_json == "null") t.output_json.clear();
  CONVSTORE_RETURN_IF_ERROR(f.Int("duration_us", t.duration_us));
  CONVSTORE_RETURN_IF_ERROR(f.Str("status", status));
  CONVSTORE_RETURN_IF_ERROR(f.Str("error_message", t.error_message));
  CONVSTORE_RETURN_IF_ERROR(f.Str("call_id", t.call_id));
  return f.Time("created_at", t.created_at);
}

Status ApplyToolStatus(const std::optional<std::string>& status, const std::string& where, NewToolCall& t) {
  if (!status) return Status::OK();
  auto s = ParseToolStatus(*status);
  if (!s)
    return Status::InvalidArgument(
        fmt::format("{}status '{}' is not one of pending, success, error", where, *status));
  t.status = *s;
  return Status::OK();
}

Result<NewMessage> MessageFromObject(const json& obj, const std::string& prefix) {
  if (!obj.is_object()) return Status::InvalidArgument(fmt::format("'{}' must be a JSON object", prefix.empty() ? "message" : prefix.substr(0, prefix.size() - 1)));
  Fields f(obj, prefix);
  NewMessage m;
  std::optional<std::string> role;
  CONVSTORE_RETURN_IF_ERROR(f.Str("role", role));
  if (!role)
    return Status::InvalidArgument(
        fmt::format("'{}role' is required (user, assistant, system, developer or tool)", prefix));
  auto parsed_role = ParseRole(*role);
  if (!parsed_role)
    return Status::InvalidArgument(
        fmt::format("'{}role' is '{}', not one of user, assistant, system, developer, tool", prefix, *role));
  m.role = *parsed_role;
  std::optional<std::string> content;
  CONVSTORE_RETURN_IF_ERROR(f.Str("content", content));
  if (!content) return Status::InvalidArgument(fmt::format("'{}content' is required", prefix));
  m.content = std::move(*content);
  CONVSTORE_RETURN_IF_ERROR(f.Str("model", m.model));
  CONVSTORE_RETURN_IF_ERROR(f.Str("model_version", m.model_version));
  CONVSTORE_RETURN_IF_ERROR(ReadSpend(f, m, SpendReadOrder::kMessage));
  CONVSTORE_RETURN_IF_ERROR(f.Doc("metadata", m.metadata_json, true));
  CONVSTORE_RETURN_IF_ERROR(f.Str("request_id", m.request_id));
  CONVSTORE_RETURN_IF_ERROR(f.Time("created_at", m.created_at));
  CONVSTORE_RETURN_IF_ERROR(f.Str("tool_call_id", m.tool_call_id));
  CONVSTORE_RETURN_IF_ERROR(f.Doc("raw", m.raw_json, false));
  if (m.raw_json == "null") m.raw_json.clear();
  const json* calls = nullptr;
  CONVSTORE_RETURN_IF_ERROR(f.Array("tool_calls", calls));
  for (size_t i = 0; calls != nullptr && i < calls->size(); ++i) {
    const std::string where = fmt::format("{}tool_calls[{}].", prefix, i);
    if (!(*calls)[i].is_object())
      return Status::InvalidArgument(fmt::format("'{}' must be a JSON object", where.substr(0, where.size() - 1)));
    Fields cf((*calls)[i], where);
    std::optional<std::string> status;
    NewToolCall& t = m.tool_calls.emplace_back();
    CONVSTORE_RETURN_IF_ERROR(ReadNewToolCall(cf, t, status));
    CONVSTORE_RETURN_IF_ERROR(cf.Finish());
    CONVSTORE_RETURN_IF_ERROR(ApplyToolStatus(status, "'" + where + "' ", t));
  }
  CONVSTORE_RETURN_IF_ERROR(f.Finish());
  return m;
}

// ---- encoders ----

void WriteConversation(JsonWriter& w, const Conversation& c) {
  w.BeginObject();
  w.Key("id").String(c.id);
  w.Key("user").String(c.user_key);
  w.Key("title").String(c.title);
  w.Key("system_prompt").String(c.system_prompt);
  w.Key("model").String(c.model);
  w.Key("temperature");
  if (c.temperature) w.Double(*c.temperature); else w.Null();
  WriteOptInt(w, "max_tokens", c.max_tokens);
  w.Key("archived").Bool(c.archived);
  w.Key("metadata").Raw(c.metadata_json);
  WriteTime(w, "created_at", c.created_at);
  WriteTime(w, "updated_at", c.updated_at);
  w.Key("message_count").Int(c.message_count);
  w.Key("tokens_input").Int(c.tokens.input);
  w.Key("tokens_output").Int(c.tokens.output);
  w.Key("tokens_cached_input").Int(c.tokens.cached_input);
  w.Key("tokens_cache_write").Int(c.tokens.cache_write);
  w.Key("tokens_reasoning").Int(c.tokens.reasoning);
  WriteMoney(w, "total_cost", c.cost_nanousd);
  w.Key("external_id");
  if (c.external_id.empty()) w.Null(); else w.String(c.external_id);
  w.EndObject();
}

void WriteToolCall(JsonWriter& w, const ToolCall& t);

// with_calls: the record an add returns, with the tool calls it recorded.
void WriteMessage(JsonWriter& w, const Message& m, bool with_calls = false) {
  w.BeginObject();
  w.Key("id").String(m.id);
  w.Key("conversation_id").String(m.conversation_id);
  w.Key("position").Int(m.position);
  w.Key("role").String(RoleName(m.role));
  w.Key("content").String(m.content);
  w.Key("model").String(m.model);
  w.Key("model_version").String(m.model_version);
  WriteSpend(w, m);
  w.Key("metadata").Raw(m.metadata_json);
  w.Key("request_id");
  if (m.request_id.empty()) w.Null(); else w.String(m.request_id);
  w.Key("tool_call_id");
  if (m.tool_call_id.empty()) w.Null(); else w.String(m.tool_call_id);
  w.Key("raw");
  if (m.raw_json.empty()) w.Null(); else w.Raw(m.raw_json);
  WriteTime(w, "created_at", m.created_at);
  if (with_calls) {
    w.Key("tool_calls").BeginArray();
    for (const ToolCall& t : m.tool_calls) WriteToolCall(w, t);
    w.EndArray();
  }
  w.EndObject();
}

void WriteToolCall(JsonWriter& w, const ToolCall& t) {
  w.BeginObject();
  w.Key("id").String(t.id);
  w.Key("message_id").String(t.message_id);
  w.Key("tool_name").String(t.tool_name);
  w.Key("call_id");
  if (t.call_id.empty()) w.Null(); else w.String(t.call_id);
  w.Key("input").Raw(t.input_json);
  w.Key("output");
  if (t.output_json.empty()) w.Null(); else w.Raw(t.output_json);
  WriteOptInt(w, "duration_us", t.duration_us);
  w.Key("status").String(ToolStatusName(t.status));
  w.Key("error_message").String(t.error_message);
  WriteTime(w, "created_at", t.created_at);
  WriteTime(w, "updated_at", t.updated_at);
  w.EndObject();
}

}  // namespace

Result<Options> DecodeOptions(std::string_view text, std::optional<int64_t>& vector_budget) {
  Options o;
  auto obj = ParseObject(text, "options");
  if (!obj.ok()) return obj.status();
  Fields f(*obj, "options.");
  std::optional<std::string> durability, level;
  std::optional<int64_t> slow;
  std::optional<bool> create, quick_check, read_only, backup_before_migration, background_indexing,
      background_checkpoints, exclusive;
  CONVSTORE_RETURN_IF_ERROR(f.Str("durability", durability));
  CONVSTORE_RETURN_IF_ERROR(f.Int("busy_timeout_ms", o.busy_timeout_ms));
  CONVSTORE_RETURN_IF_ERROR(f.Int("reader_pool_size", o.reader_pool_size));
  CONVSTORE_RETURN_IF_ERROR(f.Str("log_level", level));
  CONVSTORE_RETURN_IF_ERROR(f.Int("slow_operation_ms", slow));
  CONVSTORE_RETURN_IF_ERROR(f.Bool("create_if_missing", create));
  CONVSTORE_RETURN_IF_ERROR(f.Bool("quick_check_on_open", quick_check));
  CONVSTORE_RETURN_IF_ERROR(f.Bool("read_only", read_only));
  CONVSTORE_RETURN_IF_ERROR(f.Bool("background_indexing", background_indexing));
  CONVSTORE_RETURN_IF_ERROR(f.Bool("background_checkpoints", background_checkpoints));
  CONVSTORE_RETURN_IF_ERROR(f.Bool("exclusive", exclusive));
  CONVSTORE_RETURN_IF_ERROR(f.Int("vector_memory_budget_bytes", vector_budget));
  CONVSTORE_RETURN_IF_ERROR(f.Bool("backup_before_migration", backup_before_migration));
  CONVSTORE_RETURN_IF_ERROR(f.Str("migration_backup_directory", o.migration_backup_directory));
  CONVSTORE_RETURN_IF_ERROR(f.Finish());
  if (durability) {
    if (*durability == "normal") o.durability = Durability::kNormal;
    else if (*durability == "full") o.durability = Durability::kFull;
    else return Status::InvalidArgument(fmt::format("durability '{}' is not normal or full", *durability));
  }
  if (level) {
    static constexpr const char* kNames[] = {"trace", "debug", "info", "warn", "error", "off"};
    int found = -1;
    for (int i = 0; i < 6; ++i)
      if (*level == kNames[i]) found = i;
    if (found < 0)
      return Status::InvalidArgument(
          fmt::format("log_level '{}' is not one of trace, debug, info, warn, error, off", *level));
    o.log_level = static_cast<LogLevel>(found);
  }
  if (slow) {
    if (*slow < 0) return Status::InvalidArgument("slow_operation_ms must be >= 0");
    o.slow_operation_ms = *slow;
  }
  if (create) o.create_if_missing = *create;
  if (quick_check) o.quick_check_on_open = *quick_check;
  if (read_only) o.read_only = *read_only;
  if (background_indexing) o.background_indexing = *background_indexing;
  if (background_checkpoints) o.background_checkpoints = *background_checkpoints;
  if (exclusive) o.exclusive = *exclusive;
  if (vector_budget && *vector_budget < 0)
    return Status::InvalidArgument("vector_memory_budget_bytes must be >= 0");
  if (backup_before_migration) o.backup_before_migration = *backup_before_migration;
  return o;
}

Result<TeamInput> DecodeTeam(std::string_view text) {
  return DecodeObject<TeamInput>(text, "team", [](Fields& f, TeamInput& t) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("key", t.key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("name", t.name));
    return f.Money("monthly_budget", t.monthly_budget_nanousd);
  });
}

Result<UserInput> DecodeUser(std::string_view text) {
  return DecodeObject<UserInput>(text, "user", [](Fields& f, UserInput& u) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("key", u.key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("email", u.email));
    CONVSTORE_RETURN_IF_ERROR(f.Str("name", u.name));
    CONVSTORE_RETURN_IF_ERROR(f.Str("team", u.team_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("role", u.role));
    return f.Bool("active", u.active);
  });
}

Result<NewConversation> DecodeNewConversation(std::string_view text) {
  return DecodeObject<NewConversation>(text, "conversation", [](Fields& f, NewConversation& c) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("user", c.user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("title", c.title));
    CONVSTORE_RETURN_IF_ERROR(f.Str("system_prompt", c.system_prompt));
    CONVSTORE_RETURN_IF_ERROR(f.Str("model", c.model));
    CONVSTORE_RETURN_IF_ERROR(f.Double("temperature", c.temperature));
    CONVSTORE_RETURN_IF_ERROR(f.Int("max_tokens", c.max_tokens));
    CONVSTORE_RETURN_IF_ERROR(f.Doc("metadata", c.metadata_json, true));
    CONVSTORE_RETURN_IF_ERROR(f.Str("external_id", c.external_id));
    return f.Time("created_at", c.created_at);
  });
}

Result<ConversationUpdate> DecodeConversationUpdate(std::string_view text) {
  auto obj = ParseObject(text, "patch");
  if (!obj.ok()) return obj.status();
  Fields f(*obj, "");
  ConversationUpdate u;
  CONVSTORE_RETURN_IF_ERROR(f.Str("title", u.title));
  std::string metadata;
  if (obj->contains("metadata")) {
    CONVSTORE_RETURN_IF_ERROR(f.Doc("metadata", metadata, true));
    if (!(*obj)["metadata"].is_null()) u.metadata_json = std::move(metadata);
  }
  CONVSTORE_RETURN_IF_ERROR(f.Finish());
  return u;
}

Result<ListConversationsOptions> DecodeListQuery(std::string_view text) {
  return DecodeObject<ListConversationsOptions>(text, "query", [](Fields& f, ListConversationsOptions& q) -> Status {
    std::optional<bool> archived;
    CONVSTORE_RETURN_IF_ERROR(f.Str("user", q.user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Int("limit", q.limit));
    CONVSTORE_RETURN_IF_ERROR(f.Bool("include_archived", archived));
    CONVSTORE_RETURN_IF_ERROR(f.Str("cursor", q.cursor));
    q.include_archived = archived.value_or(false);
    return Status::OK();
  });
}

Result<ToolCallUpdate> DecodeToolCallUpdate(std::string_view text) {
  std::optional<std::string> status;
  auto decoded = DecodeObject<ToolCallUpdate>(text, "tool call update", [&](Fields& f, ToolCallUpdate& u) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("status", status));
    std::string output;
    if (Status s = f.Doc("output", output, false); !s.ok()) return s;
    if (!output.empty()) u.output_json = output == "null" ? std::string() : output;
    CONVSTORE_RETURN_IF_ERROR(f.Str("error_message", u.error_message));
    return f.Int("duration_us", u.duration_us);
  });
  if (!decoded.ok()) return decoded;
  if (!status) return Status::InvalidArgument("tool call update: status is required (success or error)");
  auto s = ParseToolStatus(*status);
  if (!s) return Status::InvalidArgument(fmt::format("status '{}' is not one of success, error", *status));
  decoded->status = *s;
  return decoded;
}

Result<ContextOptions> DecodeContextOptions(std::string_view text) {
  return DecodeObject<ContextOptions>(text, "context options", [](Fields& f, ContextOptions& o) -> Status {
    std::optional<int64_t> max_tokens;
    std::optional<bool> include_system;
    std::string overflow = "stop", counting = "stored";
    CONVSTORE_RETURN_IF_ERROR(f.Int("max_tokens", max_tokens));
    CONVSTORE_RETURN_IF_ERROR(f.Bool("include_system", include_system));
    CONVSTORE_RETURN_IF_ERROR(f.Str("overflow", overflow));
    CONVSTORE_RETURN_IF_ERROR(f.Str("counting", counting));
    if (!max_tokens) return Status::InvalidArgument("context options: max_tokens is required");
    if (overflow != "stop" && overflow != "skip")
      return Status::InvalidArgument("context options: overflow must be \"stop\" or \"skip\"");
    if (counting != "stored" && counting != "estimate")
      return Status::InvalidArgument("context options: counting must be \"stored\" or \"estimate\"");
    o.max_tokens = *max_tokens;
    o.include_system = include_system.value_or(true);
    o.overflow = overflow == "skip" ? ContextOverflow::kSkip : ContextOverflow::kStop;
    o.counting = counting == "estimate" ? ContextCounting::kEstimate : ContextCounting::kStored;
    return Status::OK();
  });
}

Result<NewMessage> DecodeNewMessage(std::string_view text) {
  auto obj = ParseObject(text, "message");
  if (!obj.ok()) return obj.status();
  return MessageFromObject(*obj, "");
}

Result<std::vector<NewMessage>> DecodeNewMessages(std::string_view text) {
  auto parsed = util::ParseJson(text, "messages", limits::kMaxRequestBytes, kMaxRequestDepth);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return Status::InvalidArgument("messages must be a JSON array of message objects");
  if (parsed->size() > limits::kMaxBatchMessages)
    return Status::TooLarge(
        fmt::format("{} messages in one batch; the limit is {}", parsed->size(), limits::kMaxBatchMessages));
  std::vector<NewMessage> out;
  out.reserve(parsed->size());
  for (size_t i = 0; i < parsed->size(); ++i) {
    auto m = MessageFromObject((*parsed)[i], fmt::format("messages[{}].", i));  // errors name the element
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
  }
  return out;
}

Result<NewToolCall> DecodeNewToolCall(std::string_view text) {
  std::optional<std::string> status;
  auto decoded = DecodeObject<NewToolCall>(
      text, "tool call", [&](Fields& f, NewToolCall& t) -> Status { return ReadNewToolCall(f, t, status); });
  if (!decoded.ok()) return decoded;
  CONVSTORE_RETURN_IF_ERROR(ApplyToolStatus(status, "", *decoded));
  return decoded;
}

Result<AgentUsage> DecodeAgentUsage(std::string_view text) {
  return DecodeObject<AgentUsage>(text, "usage", [](Fields& f, AgentUsage& u) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("model", u.model));
    CONVSTORE_RETURN_IF_ERROR(f.Int("input_tokens", u.input_tokens));
    CONVSTORE_RETURN_IF_ERROR(f.Int("output_tokens", u.output_tokens));
    CONVSTORE_RETURN_IF_ERROR(f.Int("cached_input_tokens", u.cached_input_tokens));
    return f.Int("reasoning_tokens", u.reasoning_tokens);
  });
}

Result<ImportOptions> DecodeImportOptions(std::string_view text) {
  std::optional<std::string> format;
  auto decoded = DecodeObject<ImportOptions>(text, "import options", [&](Fields& f, ImportOptions& o) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("source", o.source_path));
    CONVSTORE_RETURN_IF_ERROR(f.Str("format", format));
    return f.Str("user", o.user_key);
  });
  if (!decoded.ok()) return decoded;
  if (decoded->source_path.empty()) return Status::InvalidArgument("import options: source is required");
  if (!format) return Status::InvalidArgument("import options: format is required (agents-sdk or aidatabase-v1)");
  if (*format == "agents-sdk") decoded->format = ImportFormat::kAgentsSdk;
  else if (*format == "aidatabase-v1") decoded->format = ImportFormat::kAiDatabaseV1;
  else return Status::InvalidArgument(fmt::format("format '{}' is not agents-sdk or aidatabase-v1", *format));
  return decoded;
}

std::string EncodeImportReport(const ImportReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("conversations").Int(r.conversations);
  w.Key("messages").Int(r.messages);
  w.Key("skipped_conversations").Int(r.skipped_conversations);
  w.Key("skipped_rows").Int(r.skipped_rows);
  w.EndObject();
  return w.Take();
}

Result<MessageEdit> DecodeMessageEdit(std::string_view text) {
  auto obj = ParseObject(text, "message edit");
  if (!obj.ok()) return obj.status();
  Fields f(*obj, "");
  MessageEdit e;
  CONVSTORE_RETURN_IF_ERROR(f.Str("content", e.content));
  std::string metadata;  // absent or null: unchanged
  CONVSTORE_RETURN_IF_ERROR(f.Doc("metadata", metadata, true));
  if (!metadata.empty()) e.metadata_json = std::move(metadata);
  if (obj->contains("raw")) {  // null removes the raw item
    std::string raw;
    CONVSTORE_RETURN_IF_ERROR(f.Doc("raw", raw, false));
    e.raw_json = raw == "null" ? std::string() : std::move(raw);
  }
  CONVSTORE_RETURN_IF_ERROR(f.Finish());
  return e;
}

std::string EncodeTeam(const Team& t) {
  JsonWriter w;
  w.BeginObject();
  w.Key("key").String(t.key);
  w.Key("name").String(t.name);
  WriteMoney(w, "monthly_budget", t.monthly_budget_nanousd);
  WriteTime(w, "created_at", t.created_at);
  WriteTime(w, "updated_at", t.updated_at);
  w.EndObject();
  return w.Take();
}

std::string EncodeUser(const User& u) {
  JsonWriter w;
  w.BeginObject();
  w.Key("key").String(u.key);
  w.Key("email").String(u.email);
  w.Key("name").String(u.name);
  w.Key("team");
  if (u.team_key.empty()) w.Null(); else w.String(u.team_key);
  w.Key("role").String(u.role);
  w.Key("active").Bool(u.active);
  WriteTime(w, "created_at", u.created_at);
  WriteTime(w, "updated_at", u.updated_at);
  w.EndObject();
  return w.Take();
}

std::string EncodeConversation(const Conversation& c) {
  JsonWriter w;
  WriteConversation(w, c);
  return w.Take();
}

std::string EncodeConversationWithMessages(const ConversationWithMessages& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("conversation");
  WriteConversation(w, c.conversation);
  w.Key("messages").BeginArray();
  for (const auto& m : c.messages) WriteMessage(w, m);
  w.EndArray();
  w.Key("message_count").Int(c.message_count);
  w.EndObject();
  return w.Take();
}

std::string EncodeConversationPage(const ConversationPage& p) {
  JsonWriter w;
  w.BeginObject();
  w.Key("items").BeginArray();
  for (const auto& c : p.items) WriteConversation(w, c);
  w.EndArray();
  w.Key("next_cursor");
  if (p.next_cursor.empty()) w.Null(); else w.String(p.next_cursor);
  w.EndObject();
  return w.Take();
}

std::string EncodeMessage(const Message& m) {
  JsonWriter w;
  WriteMessage(w, m);
  return w.Take();
}

std::string EncodeMessages(const std::vector<Message>& ms) {
  JsonWriter w;
  w.BeginArray();
  for (const auto& m : ms) WriteMessage(w, m);
  w.EndArray();
  return w.Take();
}

std::string EncodeAddedMessage(const Message& m) {
  JsonWriter w;
  WriteMessage(w, m, true);
  return w.Take();
}

std::string EncodeAddedMessages(const std::vector<Message>& ms) {
  JsonWriter w;
  w.BeginArray();
  for (const auto& m : ms) WriteMessage(w, m, true);
  w.EndArray();
  return w.Take();
}

std::string EncodeItems(const std::vector<Message>& ms) {
  JsonWriter w;
  w.BeginArray();
  for (const Message& m : ms) {
    if (!m.raw_json.empty()) {
      w.Raw(m.raw_json);
      continue;
    }
    w.BeginObject();
    w.Key("role").String(RoleName(m.role));
    w.Key("content").String(m.content);
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

std::string EncodeOptionalMessage(const std::optional<Message>& m) {
  if (!m) return "null";
  return EncodeMessage(*m);
}

std::string EncodeToolCall(const ToolCall& t) {
  JsonWriter w;
  WriteToolCall(w, t);
  return w.Take();
}

std::string EncodeToolCalls(const std::vector<ToolCall>& ts) {
  JsonWriter w;
  w.BeginArray();
  for (const auto& t : ts) WriteToolCall(w, t);
  w.EndArray();
  return w.Take();
}

}  // namespace convstore::capi
