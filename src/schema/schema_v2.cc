// Migration 2: the cost-aggregation engine — price catalog, API usage, hourly rollups, budgets and reservations.
#include "cost/price_lookup.h"
#include "cost/rollup_check.h"
#include "schema/versions.h"
#include "util/status_macros.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV2 = R"sql(
-- Messages gain the cache-write token count, the team the cost is attributed to (the user's team when the
-- message was written) and the price that produced a computed cost (NULL: explicit cost, or none).
ALTER TABLE messages ADD COLUMN tokens_cache_write INTEGER;
ALTER TABLE messages ADD COLUMN team_id INTEGER;
ALTER TABLE messages ADD COLUMN price_id INTEGER;
ALTER TABLE conversations ADD COLUMN tokens_cache_write INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET team_id = (SELECT u.team_id FROM conversations c JOIN users u ON u.id = c.user_id
                               WHERE c.id = messages.conversation_id);

-- Prices per million tokens in nano-USD (exact). model is an exact name, or a GLOB pattern when is_pattern = 1.
-- NULL cached_input / cache_write prices fall back to the input price, NULL reasoning to the output price.
CREATE TABLE prices (
  id INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  is_pattern INTEGER NOT NULL CHECK (is_pattern IN (0, 1)),
  effective_from INTEGER NOT NULL,
  origin TEXT NOT NULL CHECK (origin IN ('catalog', 'user')),
  input_nanousd_per_mtok INTEGER NOT NULL CHECK (input_nanousd_per_mtok >= 0),
  output_nanousd_per_mtok INTEGER NOT NULL CHECK (output_nanousd_per_mtok >= 0),
  cached_input_nanousd_per_mtok INTEGER CHECK (cached_input_nanousd_per_mtok >= 0),
  cache_write_nanousd_per_mtok INTEGER CHECK (cache_write_nanousd_per_mtok >= 0),
  reasoning_nanousd_per_mtok INTEGER CHECK (reasoning_nanousd_per_mtok >= 0),
  source_date TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  UNIQUE (model, is_pattern, origin, effective_from)
);

CREATE TABLE api_usage (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
  conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
  model TEXT NOT NULL,
  endpoint TEXT NOT NULL DEFAULT '',
  tokens_input INTEGER,
  tokens_output INTEGER,
  tokens_cached_input INTEGER,
  tokens_cache_write INTEGER,
  tokens_reasoning INTEGER,
  cost_nanousd INTEGER,
  price_id INTEGER,
  latency_us INTEGER,
  status TEXT NOT NULL CHECK (status IN ('success', 'error')),
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  metadata TEXT NOT NULL DEFAULT '{}',
  request_id TEXT,
  recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX api_usage_request_id ON api_usage(request_id) WHERE request_id IS NOT NULL;
CREATE INDEX api_usage_user_time ON api_usage(user_id, recorded_at);

-- Fine rollups: one row per (UTC day, user, team, model, source, role, endpoint, status). Day first so the rows
-- a write touches sit together at the end of the b-tree, and a user's day is one prefix seek. Daily, not hourly:
-- a user's hours are sparse, and hourly rows would cost about one row per message.
-- source: 0 message, 1 api_usage. team_id 0: no team. latency_hist: see src/cost/histogram.h.
CREATE TABLE cost_rollups (
  day INTEGER NOT NULL,
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
  PRIMARY KEY (day, user_id, team_id, model, source, role, endpoint, status)
) WITHOUT ROWID;

-- Hourly totals per scope (0 everything, 1 team): what summaries and budget checks of everything or a team read,
-- O(days) rows whatever the number of messages. A user's spend is read from its daily cost_rollups rows.
CREATE TABLE cost_totals (
  day INTEGER NOT NULL,
  scope INTEGER NOT NULL,
  scope_id INTEGER NOT NULL,
  source INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  count INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  tokens_input INTEGER NOT NULL,
  tokens_output INTEGER NOT NULL,
  tokens_cached_input INTEGER NOT NULL,
  tokens_cache_write INTEGER NOT NULL,
  tokens_reasoning INTEGER NOT NULL,
  cost_nanousd INTEGER NOT NULL,
  PRIMARY KEY (day, scope, scope_id, source, hour)
) WITHOUT ROWID;

-- Cost rows of recent small writes not yet folded into cost_rollups / cost_totals. A single add_message appends
-- one row here (the rightmost page of one b-tree) instead of updating two rollup pages; every 256 rows the writer
-- folds them in, in the same transaction as that write. Readers add these rows (at most 256) to what they read,
-- so rollups + pending always equal the raw rows. source/role/endpoint/status as in cost_rollups.
CREATE TABLE cost_pending (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  team_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  source INTEGER NOT NULL,
  role TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  status TEXT NOT NULL,
  tokens_input INTEGER NOT NULL,
  tokens_output INTEGER NOT NULL,
  tokens_cached_input INTEGER NOT NULL,
  tokens_cache_write INTEGER NOT NULL,
  tokens_reasoning INTEGER NOT NULL,
  cost_nanousd INTEGER NOT NULL,
  latency_us INTEGER
);

-- scope: 0 global, 1 team, 2 user. period: day | week | month | rolling (window_hours).
CREATE TABLE budgets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  scope INTEGER NOT NULL CHECK (scope IN (0, 1, 2)),
  scope_id INTEGER NOT NULL,
  period TEXT NOT NULL CHECK (period IN ('day', 'week', 'month', 'rolling')),
  window_hours INTEGER NOT NULL DEFAULT 0,
  hard_limit_nanousd INTEGER,
  soft_limit_nanousd INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX budgets_scope ON budgets(scope, scope_id);

-- state: 0 open, 1 settled, 2 released. An open reservation counts against budgets until expires_at.
CREATE TABLE budget_reservations (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  team_id INTEGER,
  amount_nanousd INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  usage_id INTEGER
);
CREATE INDEX budget_reservations_open ON budget_reservations(expires_at) WHERE state = 0;

-- Key/value facts about the file (e.g. the version of the shipped price catalog it holds).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
)sql";

// Loads the price catalog and builds the rollups of the rows already in the file.
Status AfterSchemaV2(sqlite::Connection& conn, const MigrationContext& context) {
  CONVSTORE_RETURN_IF_ERROR(cost::SyncBuiltinCatalog(conn, context.now_us));
  int64_t rows = 0;
  auto expected = cost::RecomputeFromRaw(conn, &rows);
  if (!expected.ok()) return expected.status();
  return cost::ReplaceRollups(conn, *expected);
}

}  // namespace

Migration SchemaV2() { return {2, "price catalog, api usage, cost rollups, budgets", kSchemaV2, AfterSchemaV2}; }

}  // namespace convstore::schema
