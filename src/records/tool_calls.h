// Tool calls attached to a message: their checks, insert and list.
//
// Functions take the connection of the caller's transaction; none opens one.
#pragma once
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "convstore/types.h"
#include "sqlite/connection.h"

namespace convstore::records {

// Checks `in` and builds the tool call to insert (payloads normalised, id a new UUIDv7, created at `now` unless
// `in.created_at` is set). No database access.
Result<ToolCall> PrepareToolCall(std::string_view message_id, const NewToolCall& in, int64_t now);

// Inserts `call` for its message; kNotFound when the message does not exist.
Status InsertToolCall(sqlite::Connection& conn, const ToolCall& call);

// The message's tool calls in insertion order; kNotFound when the message does not exist. One statement.
Result<std::vector<ToolCall>> ListToolCalls(sqlite::Connection& conn, std::string_view message_id);

}  // namespace convstore::records
