// Migration 9: retained cost (src/cost/retained.h, docs/operations.md "Retention"). Retention deletes raw rows
// (messages of idle conversations, old API usage) but not what they spent: each deleted row is added here, per UTC
// hour and the cost rollups' dimensions, in the transaction that deletes it. The rollups keep counting it, and
// verify_rollups checks them against the stored raw rows plus these. Journaled, with the foreign-write triggers of
// migration 6: it is history, not derived from anything still in the file. The erasures of users (their pending
// steps), also journaled. And an index on API usage's conversation, which deleting conversations (retention,
// erase) needs.
#include <string>

#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV9Tables = R"sql(
CREATE TABLE cost_retained (
  day INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  team_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  source INTEGER NOT NULL,
  role TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  status TEXT NOT NULL,
  count INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  tokens_input INTEGER NOT NULL,
  tokens_output INTEGER NOT NULL,
  tokens_cached_input INTEGER NOT NULL,
  tokens_cache_write INTEGER NOT NULL,
  tokens_reasoning INTEGER NOT NULL,
  cost_nanousd INTEGER NOT NULL,
  latency_count INTEGER NOT NULL,
  latency_sum_us INTEGER NOT NULL,
  latency_hist BLOB,
  PRIMARY KEY (day, hour, user_id, team_id, model, source, role, endpoint, status)
) WITHOUT ROWID;
-- Erasures of users (EraseUser): the pseudonymous id the user's spend stays under, when, the erasure's journal
-- entry, and what was not finished yet — the WAL could not be emptied while a reader in another process used it;
-- archive directories whose earlier generations still held the user's data — until finished_at.
CREATE TABLE erasures (
  id INTEGER PRIMARY KEY,
  pseudonym TEXT NOT NULL,
  erased_at INTEGER NOT NULL,
  journal_seq INTEGER,
  wal_pending INTEGER NOT NULL DEFAULT 1 CHECK (wal_pending IN (0, 1)),
  archives_pending TEXT NOT NULL DEFAULT '[]',
  finished_at INTEGER
);
-- Deleting a conversation sets its API usage rows' conversation_id to NULL (a foreign-key action): without this
-- index each delete reads the whole api_usage table. Also serves a conversation's cost summary.
CREATE INDEX api_usage_conversation ON api_usage(conversation_id) WHERE conversation_id IS NOT NULL;
)sql";

}  // namespace

Migration SchemaV9() {
  static const std::string sql = std::string(kSchemaV9Tables) + ForeignWriteTriggers({"cost_retained", "erasures"});
  return {9, "retained cost of rows removed by retention; erasures of users; API usage indexed by conversation",
          sql.c_str()};
}

}  // namespace convstore::schema
