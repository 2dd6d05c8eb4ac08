// Migration 5: what agent frameworks' history needs.
// - Tool calls that finish and tool results that name their call: a tool call records the provider's call id
//   (OpenAI's call_id, Anthropic's tool_use_id) and when it left "pending"; a tool-role message records the call it
//   answers (tool_call_id: the provider's id or convstore's).
// - Messages that can be deleted: a deleted message leaves a tombstone with its cost columns and request_id and no
//   content, so the cost rollups (which count messages, tombstones and API usage) keep what was spent and a retry
//   of its request_id does not add it again.
// - A conversation's external id (an agent framework's session id), unique in the file, and a message's raw item
//   (the framework's JSON, kept verbatim).
// - A partial index lists each conversation's system messages, which context windows keep whatever their age, so
//   finding them is a seek.
#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE tool_calls ADD COLUMN call_id TEXT;
ALTER TABLE tool_calls ADD COLUMN updated_at INTEGER;
CREATE INDEX tool_calls_call_id ON tool_calls(call_id) WHERE call_id IS NOT NULL;
ALTER TABLE messages ADD COLUMN tool_call_id TEXT;
CREATE INDEX messages_system ON messages(conversation_id, position) WHERE role = 'system';
ALTER TABLE messages ADD COLUMN raw TEXT;
ALTER TABLE conversations ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX conversations_external_id ON conversations(external_id) WHERE external_id IS NOT NULL;
CREATE TABLE message_tombstones (
  id INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  message_uid TEXT NOT NULL,
  position INTEGER NOT NULL,
  role TEXT NOT NULL,
  model TEXT NOT NULL,
  team_id INTEGER,
  tokens_input INTEGER,
  tokens_output INTEGER,
  tokens_cached_input INTEGER,
  tokens_cache_write INTEGER,
  tokens_reasoning INTEGER,
  cost_nanousd INTEGER,
  latency_us INTEGER,
  request_id TEXT,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER NOT NULL
);
CREATE INDEX message_tombstones_conversation ON message_tombstones(conversation_id);
CREATE INDEX message_tombstones_created ON message_tombstones(created_at);
CREATE UNIQUE INDEX message_tombstones_request_id ON message_tombstones(request_id) WHERE request_id IS NOT NULL;
)sql";

}  // namespace

Migration SchemaV5() { return {5, "tool call lifecycle; message tombstones; external ids and raw items; system messages indexed", kSchemaV5}; }

}  // namespace convstore::schema
