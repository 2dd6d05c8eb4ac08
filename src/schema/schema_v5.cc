// Migration 5: tool calls that finish and tool results that name their call. A tool call records the provider's
// call id (OpenAI's call_id, Anthropic's tool_use_id) and when it left "pending"; a tool-role message records the
// call it answers (tool_call_id: the provider's id or convstore's). A partial index lists each conversation's
// system messages, which context windows keep whatever their age, so finding them is a seek.
#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE tool_calls ADD COLUMN call_id TEXT;
ALTER TABLE tool_calls ADD COLUMN updated_at INTEGER;
CREATE INDEX tool_calls_call_id ON tool_calls(call_id) WHERE call_id IS NOT NULL;
ALTER TABLE messages ADD COLUMN tool_call_id TEXT;
CREATE INDEX messages_system ON messages(conversation_id, position) WHERE role = 'system';
)sql";

}  // namespace

Migration SchemaV5() { return {5, "tool call lifecycle; system messages indexed", kSchemaV5}; }

}  // namespace convstore::schema
