// Migration 4: oversized metadata documents carry their owner (user) and conversation, indexed, so a search
// scoped to a user or a conversation reads only that scope's oversized documents. Its C++ step folds the pending
// cost rows older versions could leave behind (more than the fold size after some batch patterns, and rollup rows
// below zero while a deleted or repriced row was still pending) and drops the all-zero rollup rows they left (an
// upsert's RETURNING misread under SQLite 3.40), so every stored rollup row is plausible from here.
#include "cost/pending.h"
#include "schema/versions.h"
#include "util/status_macros.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE metadata_unindexed ADD COLUMN user_id INTEGER;
ALTER TABLE metadata_unindexed ADD COLUMN conversation_id INTEGER;
UPDATE metadata_unindexed SET
  user_id = CASE kind
    WHEN 0 THEN (SELECT user_id FROM conversations WHERE id = obj)
    WHEN 1 THEN (SELECT c.user_id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = obj)
    ELSE (SELECT user_id FROM api_usage WHERE id = obj) END,
  conversation_id = CASE kind
    WHEN 0 THEN obj
    WHEN 1 THEN (SELECT conversation_id FROM messages WHERE id = obj)
    ELSE (SELECT conversation_id FROM api_usage WHERE id = obj) END;
CREATE INDEX metadata_unindexed_user ON metadata_unindexed(kind, user_id, at, obj);
CREATE INDEX metadata_unindexed_conversation ON metadata_unindexed(kind, conversation_id, at, obj)
  WHERE conversation_id IS NOT NULL;
)sql";

Status AfterSchemaV4(sqlite::Connection& conn, const MigrationContext&) {
  CONVSTORE_RETURN_IF_ERROR(cost::MergePendingTable(conn));
  return conn.Exec(
      "DELETE FROM cost_rollups WHERE count = 0 AND errors = 0 AND cost_nanousd = 0 AND tokens_input = 0"
      " AND tokens_output = 0 AND tokens_cached_input = 0 AND tokens_cache_write = 0 AND tokens_reasoning = 0"
      " AND latency_count = 0 AND latency_sum_us = 0;"
      "DELETE FROM cost_totals WHERE count = 0 AND errors = 0 AND cost_nanousd = 0 AND tokens_input = 0"
      " AND tokens_output = 0 AND tokens_cached_input = 0 AND tokens_cache_write = 0 AND tokens_reasoning = 0;",
      "drop emptied cost rollups");
}

}  // namespace

Migration SchemaV4() {
  return {4, "scopes of oversized metadata documents; pending cost rows folded", kSchemaV4, AfterSchemaV4};
}

}  // namespace convstore::schema
