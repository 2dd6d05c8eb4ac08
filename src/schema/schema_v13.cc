// Migration 13: a message is its own pending cost row. cost_fold keeps the watermark — the largest message id the
// cost rollups count — so adding a message writes no cost_pending row: the messages past the watermark are the
// pending rows, folded (with cost_pending's) every 256 (cost/pending.h). Every message already there is counted
// (in the rollups or as a cost_pending row), so the watermark starts at the newest message. A derived table, like
// the rollups: not journaled, set again by a rebuild.
#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV13 = R"sql(
CREATE TABLE cost_fold (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  messages_through INTEGER NOT NULL
);
INSERT INTO cost_fold(id, messages_through) SELECT 1, coalesce(max(id), 0) FROM messages;
)sql";

}  // namespace

Migration SchemaV13() { return {13, "messages are their own pending cost rows", kSchemaV13}; }

}  // namespace convstore::schema
