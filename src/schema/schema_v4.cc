// Migration 4: oversized metadata documents carry their owner (user) and conversation, indexed, so a search
// scoped to a user or a conversation reads only that scope's oversized documents.
#include "schema/migrations.h"

namespace convstore::schema {

extern const char* const kSchemaV4;

const char* const kSchemaV4 = R"sql(
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

}  // namespace convstore::schema
