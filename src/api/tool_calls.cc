// Tool calls attached to a message.
#include "api/store_impl.h"
#include "records/tool_calls.h"

namespace convstore::api {

Result<ToolCall> StoreImpl::DoAddToolCall(std::string_view message_id, const NewToolCall& in) {
  auto call = records::PrepareToolCall(message_id, in);
  if (!call.ok()) return call.status();
  const int64_t now = Now();  // read after validation, whether or not created_at is given
  records::StampToolCall(*call, in.created_at.value_or(now));
  return Write("add_tool_call", [&](sqlite::Connection& conn) -> Result<ToolCall> {
    CONVSTORE_RETURN_IF_ERROR(records::InsertToolCall(conn, *call));
    return *call;
  });
}

Result<ToolCall> StoreImpl::DoUpdateToolCall(std::string_view tool_call_id, const ToolCallUpdate& update) {
  ToolCallUpdate valid;
  CONVSTORE_RETURN_IF_ERROR(records::ValidateToolCallUpdate(tool_call_id, update, valid));
  const int64_t now = Now();
  return Write("update_tool_call", [&](sqlite::Connection& conn) {
    return records::UpdateToolCall(conn, tool_call_id, valid, now);
  });
}

Result<std::vector<ToolCall>> StoreImpl::DoListToolCalls(std::string_view message_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(message_id, "message id"));
  return Read("list_tool_calls",
              [&](sqlite::Connection& conn) { return records::ListToolCalls(conn, message_id); });
}

}  // namespace convstore::api
