// Column lists of each record (as macros, so SQL stays string literals usable as statement-cache keys) and the
// functions that read a record from a result row starting at a given column.
#pragma once
#include <string_view>

#include "convstore/types.h"
#include "sqlite/statement.h"

// 19 columns; the conversation alias is c and the user alias u.
#define CONVSTORE_CONVERSATION_COLUMNS                                                                     \
  "c.uid, u.key, c.title, c.system_prompt, c.model, c.temperature, c.max_tokens, c.archived, c.metadata, " \
  "c.created_at, c.updated_at, c.message_count, c.tokens_input, c.tokens_output, c.tokens_cached_input, "  \
  "c.tokens_reasoning, c.cost_nanousd, c.tokens_cache_write, c.external_id"
#define CONVSTORE_CONVERSATION_COLUMN_COUNT 19

// 19 columns; alias m.
#define CONVSTORE_MESSAGE_COLUMNS                                                                           \
  "m.uid, m.position, m.role, m.content, m.model, m.model_version, m.tokens_input, m.tokens_output, "      \
  "m.tokens_cached_input, m.tokens_reasoning, m.cost_nanousd, m.latency_us, m.metadata, m.request_id, "     \
  "m.created_at, m.tokens_cache_write, m.price_id, m.tool_call_id, m.raw"

// 10 columns; alias t.
#define CONVSTORE_TOOL_CALL_COLUMNS                                                                         \
  "t.uid, t.tool_name, t.input, t.output, t.duration_us, t.status, t.error_message, t.created_at, t.call_id, " \
  "t.updated_at"

namespace convstore::records {

void ReadConversation(const sqlite::Stmt& st, int first, Conversation& out);
void ReadMessage(const sqlite::Stmt& st, int first, std::string_view conversation_id, Message& out);
void ReadToolCall(const sqlite::Stmt& st, int first, std::string_view message_id, ToolCall& out);

}  // namespace convstore::records
