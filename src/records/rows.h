// Column lists of each record (as macros, so SQL stays string literals usable as statement-cache keys) and the
// functions that read a record from a result row starting at a given column.
#pragma once
#include <cstdint>
#include <string_view>

#include "convstore/types.h"
#include "sqlite/statement.h"

// 21 columns; the conversation alias is c and the user alias u. The record's 19, then the row id and the stored
// next_position (StoredRowOf): the counters read are the stored ones, to which a reader adds the conversation's
// pending messages (records/conversation_counters.h).
#define CONVSTORE_CONVERSATION_COLUMNS                                                                     \
  "c.uid, u.key, c.title, c.system_prompt, c.model, c.temperature, c.max_tokens, c.archived, c.metadata, " \
  "c.created_at, c.updated_at, c.message_count, c.tokens_input, c.tokens_output, c.tokens_cached_input, "  \
  "c.tokens_reasoning, c.cost_nanousd, c.tokens_cache_write, c.external_id, c.id, c.next_position"
#define CONVSTORE_CONVERSATION_COLUMN_COUNT 21

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
// The row id and stored next_position of a conversation read with CONVSTORE_CONVERSATION_COLUMNS at `first`.
struct StoredRow {
  int64_t row_id = 0;
  int64_t next_position = 0;
};
StoredRow StoredRowOf(const sqlite::Stmt& st, int first);
void ReadMessage(const sqlite::Stmt& st, int first, std::string_view conversation_id, Message& out);
void ReadToolCall(const sqlite::Stmt& st, int first, std::string_view message_id, ToolCall& out);

}  // namespace convstore::records
