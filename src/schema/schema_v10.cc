// Migration 10: the saved statistics (Monitoring::Stats, docs/monitoring.md "Statistics"). A store handle counts its
// calls in memory and, when it closes, adds the counters here, as PostgreSQL saves pg_stat_statements at shutdown.
// Not journaled and not synced: they describe this file's use, not its data, and a restore or a copy need not
// agree with them.
#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV10 = R"sql(
-- One row per public operation ("add_message"): calls, errors, rows, and the durations' sum, extremes and sum of
-- squares (for the standard deviation), merged by addition (min and max by min and max).
CREATE TABLE operation_stats (
  name TEXT PRIMARY KEY,
  calls INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  total_ns INTEGER NOT NULL,
  min_ns INTEGER NOT NULL,
  max_ns INTEGER NOT NULL,
  sum_squares_us REAL NOT NULL
) WITHOUT ROWID;
-- The store-wide counters (cache_hits, cache_misses, cache_writes, checkpoints) merged by addition, and 'since':
-- when counting began (the last reset, or the opening of the first handle that saved).
CREATE TABLE stats_counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

}  // namespace

Migration SchemaV10() { return {10, "saved statistics of the store's operations", kSchemaV10}; }

}  // namespace convstore::schema
