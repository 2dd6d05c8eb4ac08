// Migration 12: embeddings (convstore/vectors.h, docs/search.md; the engine in src/search/vector_*.h) — named
// embedding spaces and one table of vectors per target. A vector is a BLOB of `dimension` little-endian float32
// values. Its row goes with the message or conversation it belongs to (ON DELETE CASCADE: deletes, retention and
// erasure take it along) and with its space. Ids come from AUTOINCREMENT, so one is never used twice and a write
// (a replace is a delete and an insert) always has an id larger than any before it: an in-memory copy that has read
// up to id N finds every later write above N (one seek in the (space, id) index), and a vector whose id is gone is
// known to be gone. Journaled, with
// the foreign-write triggers of migration 6.
#include <string>

#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV12Tables = R"sql(
-- target: 0 messages, 1 conversations; metric: 0 cosine, 1 dot, 2 L2; quantization: 0 none, 1 int8.
CREATE TABLE embedding_spaces (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  target INTEGER NOT NULL CHECK (target IN (0, 1)),
  dimension INTEGER NOT NULL CHECK (dimension BETWEEN 1 AND 4096),
  metric INTEGER NOT NULL CHECK (metric IN (0, 1, 2)),
  quantization INTEGER NOT NULL CHECK (quantization IN (0, 1)),
  created_at INTEGER NOT NULL
);
CREATE TABLE message_embeddings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  space_id INTEGER NOT NULL REFERENCES embedding_spaces(id) ON DELETE CASCADE,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  vector BLOB NOT NULL,
  UNIQUE (space_id, message_id)
);
CREATE INDEX message_embeddings_message ON message_embeddings(message_id);
CREATE INDEX message_embeddings_space ON message_embeddings(space_id, id);
CREATE TABLE conversation_embeddings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  space_id INTEGER NOT NULL REFERENCES embedding_spaces(id) ON DELETE CASCADE,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  vector BLOB NOT NULL,
  UNIQUE (space_id, conversation_id)
);
CREATE INDEX conversation_embeddings_conversation ON conversation_embeddings(conversation_id);
CREATE INDEX conversation_embeddings_space ON conversation_embeddings(space_id, id);
)sql";

}  // namespace

Migration SchemaV12() {
  static const std::string sql = std::string(kSchemaV12Tables) +
                                 ForeignWriteTriggers({"embedding_spaces", "message_embeddings",
                                                       "conversation_embeddings"});
  return {12, "embeddings", sql.c_str()};
}

}  // namespace convstore::schema
