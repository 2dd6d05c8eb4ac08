#include "records/tool_calls.h"

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
  return t;
}

void StampToolCall(ToolCall& t, int64_t created_at) {
  t.created_at = created_at;
  t.id = util::NewUuidV7(created_at);
}

Status InsertToolCall(sqlite::Connection& conn, const ToolCall& t) {
  auto msg_row = FindMessageRow(conn, t.message_id);
  if (!msg_row.ok()) return msg_row.status();
  auto st = conn.Prepare(
      "INSERT INTO tool_calls(uid, message_id, tool_name, input, output, duration_us, status, error_message, "
      "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!st.ok()) return st.status();
  st->Bind(1, t.id).Bind(2, *msg_row).Bind(3, t.tool_name).Bind(4, t.input_json).BindTextOrNull(5, t.output_json);
  st->Bind(6, t.duration_us).Bind(7, std::string_view(ToolStatusName(t.status))).Bind(8, t.error_message);
  st->Bind(9, t.created_at);
  return st->Run("insert tool call");
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
