#include "records/rows.h"

namespace convstore::records {

void ReadConversation(const sqlite::Stmt& st, int f, Conversation& c) {
  c.id = st.Text(f + 0);
  c.user_key = st.Text(f + 1);
  c.title = st.Text(f + 2);
  c.system_prompt = st.Text(f + 3);
  c.model = st.Text(f + 4);
  c.temperature = st.OptDouble(f + 5);
  c.max_tokens = st.OptInt(f + 6);
  c.archived = st.Int(f + 7) != 0;
  c.metadata_json = st.Text(f + 8);
  c.created_at = st.Int(f + 9);
  c.updated_at = st.Int(f + 10);
  c.message_count = st.Int(f + 11);
  c.tokens.input = st.Int(f + 12);
  c.tokens.output = st.Int(f + 13);
  c.tokens.cached_input = st.Int(f + 14);
  c.tokens.reasoning = st.Int(f + 15);
  c.cost_nanousd = st.Int(f + 16);
  c.tokens.cache_write = st.Int(f + 17);
  c.external_id = st.Text(f + 18);
}

StoredRow StoredRowOf(const sqlite::Stmt& st, int f) { return {st.Int(f + 19), st.Int(f + 20)}; }

void ReadMessage(const sqlite::Stmt& st, int f, std::string_view conversation_id, Message& m) {
  m.id = st.Text(f + 0);
  m.conversation_id = conversation_id;
  m.position = st.Int(f + 1);
  m.role = ParseRole(st.Text(f + 2)).value_or(Role::kUser);  // the CHECK constraint guarantees a known role
  m.content = st.Text(f + 3);
  m.model = st.Text(f + 4);
  m.model_version = st.Text(f + 5);
  m.tokens_input = st.OptInt(f + 6);
  m.tokens_output = st.OptInt(f + 7);
  m.tokens_cached_input = st.OptInt(f + 8);
  m.tokens_reasoning = st.OptInt(f + 9);
  m.cost_nanousd = st.OptInt(f + 10);
  m.latency_us = st.OptInt(f + 11);
  m.metadata_json = st.Text(f + 12);
  m.request_id = st.Text(f + 13);
  m.created_at = st.Int(f + 14);
  m.tokens_cache_write = st.OptInt(f + 15);
  m.price_id = st.OptInt(f + 16);
  m.tool_call_id = st.Text(f + 17);
  m.raw_json = st.Text(f + 18);
}

void ReadToolCall(const sqlite::Stmt& st, int f, std::string_view message_id, ToolCall& t) {
  t.id = st.Text(f + 0);
  t.message_id = message_id;
  t.tool_name = st.Text(f + 1);
  t.input_json = st.Text(f + 2);
  t.output_json = st.Text(f + 3);
  t.duration_us = st.OptInt(f + 4);
  t.status = ParseToolStatus(st.Text(f + 5)).value_or(ToolStatus::kSuccess);
  t.error_message = st.Text(f + 6);
  t.created_at = st.Int(f + 7);
  t.call_id = st.Text(f + 8);
  t.updated_at = st.IsNull(f + 9) ? t.created_at : st.Int(f + 9);
}

}  // namespace convstore::records
