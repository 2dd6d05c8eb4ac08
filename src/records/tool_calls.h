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

// Checks `in` and builds the tool call to insert (payloads normalised), without its id and time. No database access.
Result<ToolCall> PrepareToolCall(std::string_view message_id, const NewToolCall& in);
// Stamps a prepared tool call with its creation time and an id (a new UUIDv7 of that time).
void StampToolCall(ToolCall& call, int64_t created_at);

// Inserts `call` for its message; kNotFound when the message does not exist.
Status InsertToolCall(sqlite::Connection& conn, const ToolCall& call);

// Checks an update and normalises its output JSON into `normalised`. No database access.
Status ValidateToolCallUpdate(std::string_view tool_call_id, const ToolCallUpdate& update, ToolCallUpdate& normalised);
// Finishes a pending call (ToolCallUpdate in types.h): kNotFound, kConflict for a finished call unless the update
// repeats it exactly. Returns the call as stored.
Result<ToolCall> UpdateToolCall(sqlite::Connection& conn, std::string_view tool_call_id, const ToolCallUpdate& update,
                                int64_t now);

// The message's tool calls in insertion order; kNotFound when the message does not exist. One statement.
Result<std::vector<ToolCall>> ListToolCalls(sqlite::Connection& conn, std::string_view message_id);

}  // namespace convstore::records
