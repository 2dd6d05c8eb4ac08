#include "records/tool_calls.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "convstore/limits.h"
#include "records/rows.h"
#include "util/json_input.h"
#include "util/uuid.h"
#include "util/validate.h"

namespace convstore::records {

namespace {

Result<int64_t> FindMessageRow(sqlite::Connection& conn, std::string_view message_id) {
  auto row = conn.QueryInt("SELECT id FROM messages WHERE uid = ?1", "find message", message_id);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(fmt::format("message '{}' does not exist", message_id));
  return **row;
}

}  // namespace

Result<ToolCall> PrepareToolCall(std::string_view message_id, const NewToolCall& in) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(message_id, "message id"));
  if (in.tool_name.empty()) return Status::InvalidArgument("tool_name is empty");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(in.tool_name, "tool_name", limits::kMaxNameBytes));
  if (ToolStatusName(in.status) == nullptr)
    return Status::InvalidArgument("status must be one of pending, success, error");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(in.error_message, "error_message", limits::kMaxSystemPromptBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(in.duration_us, 0, limits::kMaxLatencyUs, "duration_us"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(in.created_at, "created_at"));
  if (!in.call_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(in.call_id, "call_id"));
  auto input = util::NormalizeJson(in.input_json.empty() ? std::string_view("{}") : in.input_json, "input",
                                   limits::kMaxToolPayloadBytes, false);
  if (!input.ok()) return input.status();
  std::string output;
  if (!in.output_json.empty()) {
    auto o = util::NormalizeJson(in.output_json, "output", limits::kMaxToolPayloadBytes, false);
    if (!o.ok()) return o.status();
    if (*o != "null") output = std::move(*o);  // JSON null means "no output", as through the C API
  }
  ToolCall t;
  t.message_id = message_id;
  t.tool_name = in.tool_name;
  t.input_json = std::move(*input);
  t.output_json = std::move(output);
  t.duration_us = in.duration_us;
  t.status = in.status;
  t.error_message = in.error_message;
  t.call_id = in.call_id;
  return t;
}

void StampToolCall(ToolCall& t, int64_t created_at) {
  t.created_at = created_at;
  t.updated_at = created_at;
  t.id = util::NewUuidV7(created_at);
}

Status InsertToolCall(sqlite::Connection& conn, const ToolCall& t) {
  auto msg_row = FindMessageRow(conn, t.message_id);
  if (!msg_row.ok()) return msg_row.status();
  if (!t.call_id.empty()) {
    // Unique within the conversation, so a tool message's tool_call_id names one call.
    auto taken = conn.QueryInt(
        "SELECT 1 FROM tool_calls t JOIN messages c ON c.id = t.message_id WHERE t.call_id = ?1"
        " AND c.conversation_id = (SELECT conversation_id FROM messages WHERE id = ?2) LIMIT 1",
        "find tool call id", t.call_id, *msg_row);
    if (!taken.ok()) return taken.status();
    if (*taken)
      return Status::Conflict(fmt::format("call_id '{}' is already used by a tool call of this conversation",
                                          t.call_id));
  }
  auto st = conn.Prepare(
      "INSERT INTO tool_calls(uid, message_id, tool_name, input, output, duration_us, status, error_message, "
      "created_at, call_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)");
  if (!st.ok()) return st.status();
  st->Bind(1, t.id).Bind(2, *msg_row).Bind(3, t.tool_name).Bind(4, t.input_json).BindTextOrNull(5, t.output_json);
  st->Bind(6, t.duration_us).Bind(7, std::string_view(ToolStatusName(t.status))).Bind(8, t.error_message);
  st->Bind(9, t.created_at).BindTextOrNull(10, t.call_id);
  return st->Run("insert tool call");
}

Status ValidateToolCallUpdate(std::string_view tool_call_id, const ToolCallUpdate& u, ToolCallUpdate& normalised) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(tool_call_id, "tool call id"));
  if (u.status != ToolStatus::kSuccess && u.status != ToolStatus::kError)
    return Status::InvalidArgument("status must be success or error: a call leaves pending once, to one of them");
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(u.duration_us, 0, limits::kMaxLatencyUs, "duration_us"));
  if (u.error_message)
    CONVSTORE_RETURN_IF_ERROR(util::CheckText(*u.error_message, "error_message", limits::kMaxSystemPromptBytes));
  normalised = u;
  if (u.output_json && !u.output_json->empty()) {
    auto o = util::NormalizeJson(*u.output_json, "output", limits::kMaxToolPayloadBytes, false);
    if (!o.ok()) return o.status();
    normalised.output_json = *o == "null" ? std::string() : std::move(*o);
  }
  return Status::OK();
}

Result<ToolCall> UpdateToolCall(sqlite::Connection& conn, std::string_view tool_call_id, const ToolCallUpdate& u,
                                int64_t now) {
  auto found = conn.QueryRow("SELECT m.uid, " CONVSTORE_TOOL_CALL_COLUMNS ", t.id FROM tool_calls t"
                             " JOIN messages m ON m.id = t.message_id WHERE t.uid = ?1",
                             "find tool call", [&](const sqlite::Stmt& st) {
                               std::pair<ToolCall, int64_t> r;
                               ReadToolCall(st, 1, st.Text(0), r.first);
                               r.second = st.Int(11);
                               return r;
                             },
                             tool_call_id);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("tool call '{}' does not exist", tool_call_id));
  ToolCall t = std::move((*found)->first);
  const int64_t row = (*found)->second;
  ToolCall next = t;
  next.status = u.status;
  if (u.output_json) next.output_json = *u.output_json;
  if (u.error_message) next.error_message = *u.error_message;
  if (u.duration_us) next.duration_us = u.duration_us;
  if (t.status != ToolStatus::kPending) {
    // Final: a retry of the same update is answered with the call; anything else is a conflict.
    if (next.status == t.status && next.output_json == t.output_json && next.error_message == t.error_message &&
        next.duration_us == t.duration_us)
      return t;
    return Status::Conflict(fmt::format("tool call '{}' is already {}; a finished call is final", tool_call_id,
                                        ToolStatusName(t.status)));
  }
  next.updated_at = std::max(now, t.created_at);
  auto st = conn.Prepare(
      "UPDATE tool_calls SET status = ?2, output = ?3, error_message = ?4, duration_us = ?5, updated_at = ?6"
      " WHERE id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, row).Bind(2, std::string_view(ToolStatusName(next.status))).BindTextOrNull(3, next.output_json);
  st->Bind(4, next.error_message).Bind(5, next.duration_us).Bind(6, next.updated_at);
  CONVSTORE_RETURN_IF_ERROR(st->Run("update tool call"));
  return next;
}

Result<std::vector<ToolCall>> ListToolCalls(sqlite::Connection& conn, std::string_view message_id) {
  std::vector<ToolCall> out;
  auto any = conn.ForEachRow(
      "SELECT m.id IS NOT NULL, t.id IS NOT NULL, " CONVSTORE_TOOL_CALL_COLUMNS
      " FROM messages m LEFT JOIN tool_calls t ON t.message_id = m.id WHERE m.uid = ?1 ORDER BY t.id",
      "list tool calls",
      [&](const sqlite::Stmt& st) {
        if (st.Int(1) == 0) return false;  // the message has no tool calls
        ReadToolCall(st, 2, message_id, out.emplace_back());
        return true;
      },
      message_id);
  if (!any.ok()) return any.status();
  if (!*any) return Status::NotFound(fmt::format("message '{}' does not exist", message_id));
  return out;
}

}  // namespace convstore::records
