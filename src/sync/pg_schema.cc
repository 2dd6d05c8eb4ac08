#include "sync/pg_schema.h"

#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "convstore/version.h"
#include "util/logging.h"
#include "util/status_macros.h"
#include "util/time.h"

namespace convstore::sync {
namespace {

// Version 1. "@." stands for the schema; "@EMBEDDING@" for vector (pgvector) or real[].
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE @.convstore_schema (
  version integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  library_version text NOT NULL
);
CREATE TABLE @.convstore_stores (
  store_id uuid PRIMARY KEY,
  label text NOT NULL DEFAULT '',
  position bigint NOT NULL DEFAULT 0,
  position_committed_us bigint NOT NULL DEFAULT 0,
  position_committed_at timestamptz,
  source_schema_version integer NOT NULL DEFAULT 0,
  loads integer NOT NULL DEFAULT 0,
  loaded_at timestamptz,
  load_position bigint,
  synced_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE @.convstore_dead_letters (
  id bigserial PRIMARY KEY,
  store_id uuid NOT NULL,
  seq bigint NOT NULL,
  source_table text NOT NULL,
  op text NOT NULL,
  src_id bigint,
  change text NOT NULL,
  sqlstate text NOT NULL DEFAULT '',
  reason text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX convstore_dead_letters_store ON @.convstore_dead_letters (store_id, seq);

CREATE TABLE @.teams (
  id uuid GENERATED ALWAYS AS (md5(store_id::text || '/teams/' || src_id::text)::uuid) STORED PRIMARY KEY,
  name text NOT NULL,
  monthly_budget_usd numeric(24, 9) GENERATED ALWAYS AS (monthly_budget_nanousd::numeric / 1000000000) STORED,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  key text NOT NULL,
  monthly_budget_nanousd bigint,
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  convstore_nul jsonb,
  UNIQUE (store_id, src_id)
);
CREATE INDEX teams_key ON @.teams (key);

CREATE TABLE @.users (
  id uuid GENERATED ALWAYS AS (md5(store_id::text || '/users/' || src_id::text)::uuid) STORED PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  team_id uuid GENERATED ALWAYS AS (md5(store_id::text || '/teams/' || team_src::text)::uuid) STORED,
  role text NOT NULL,
  is_active boolean NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  key text NOT NULL,
  team_src bigint,
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  convstore_nul jsonb,
  UNIQUE (store_id, src_id)
);
CREATE INDEX users_key ON @.users (key);
CREATE INDEX users_team ON @.users (team_id);

CREATE TABLE @.convstore_prices (
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  model text NOT NULL,
  is_pattern boolean NOT NULL,
  effective_from timestamptz NOT NULL,
  origin text NOT NULL,
  input_nanousd_per_mtok bigint NOT NULL,
  output_nanousd_per_mtok bigint NOT NULL,
  cached_input_nanousd_per_mtok bigint,
  cache_write_nanousd_per_mtok bigint,
  reasoning_nanousd_per_mtok bigint,
  source_date text NOT NULL,
  note text NOT NULL,
  created_at timestamptz NOT NULL,
  convstore_nul jsonb,
  PRIMARY KEY (store_id, src_id)
);

CREATE TABLE @.conversations (
  id uuid PRIMARY KEY,
  user_id text NOT NULL,
  title text,
  system_prompt text,
  model text,
  temperature double precision,
  max_tokens bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  is_archived boolean NOT NULL DEFAULT false,
  external_id text,
  message_count bigint NOT NULL DEFAULT 0,
  next_position bigint NOT NULL DEFAULT 0,
  tokens_input bigint NOT NULL DEFAULT 0,
  tokens_output bigint NOT NULL DEFAULT 0,
  tokens_cached_input bigint NOT NULL DEFAULT 0,
  tokens_cache_write bigint NOT NULL DEFAULT 0,
  tokens_reasoning bigint NOT NULL DEFAULT 0,
  cost_nanousd bigint NOT NULL DEFAULT 0,
  cost_usd numeric(24, 9) GENERATED ALWAYS AS (cost_nanousd::numeric / 1000000000) STORED,
  user_uuid uuid GENERATED ALWAYS AS (md5(store_id::text || '/users/' || user_src::text)::uuid) STORED,
  user_src bigint NOT NULL,
  updated_at_us bigint NOT NULL,
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  convstore_nul jsonb,
  UNIQUE (store_id, src_id)
);
CREATE INDEX idx_conversations_user_id ON @.conversations (user_id);
CREATE INDEX idx_conversations_created_at ON @.conversations (created_at DESC);
CREATE INDEX idx_conversations_user_date ON @.conversations (user_id, created_at DESC);
CREATE INDEX idx_conversations_metadata ON @.conversations USING GIN (metadata);
CREATE INDEX conversations_user_uuid ON @.conversations (user_uuid);

-- A conversation's updated_at is the source's: a BEFORE UPDATE trigger that stamps the current time (the seed
-- chapter's update_updated_at_column) runs before this one (triggers fire in name order) and is undone here.
CREATE FUNCTION @.convstore_source_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := timestamptz 'epoch' + NEW.updated_at_us * interval '1 microsecond';
  RETURN NEW;
END
$$;
CREATE TRIGGER zz_convstore_source_updated_at BEFORE UPDATE ON @.conversations
  FOR EACH ROW EXECUTE FUNCTION @.convstore_source_updated_at();

-- No foreign keys between these tables: the sync keeps them consistent (a parent's delete reaches PostgreSQL with
-- its children's, in the same transaction, as the store's cascade recorded them), and checking a key per row
-- costs an initial load a third of its speed.
CREATE TABLE @.messages (
  id uuid PRIMARY KEY,
  conversation_id uuid NOT NULL,
  role text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
  content text NOT NULL,
  content_embedding @EMBEDDING@,
  model text,
  model_version text,
  tokens_input bigint,
  tokens_output bigint,
  cost_usd numeric(24, 9) GENERATED ALWAYS AS (cost_nanousd::numeric / 1000000000) STORED,
  latency_ms bigint GENERATED ALWAYS AS (latency_us / 1000) STORED,
  created_at timestamptz NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  position bigint NOT NULL,
  tokens_cached_input bigint,
  tokens_cache_write bigint,
  tokens_reasoning bigint,
  cost_nanousd bigint,
  latency_us bigint,
  request_id text,
  tool_call_id text,
  raw text,
  price_id bigint,
  team_id uuid GENERATED ALWAYS AS (md5(store_id::text || '/teams/' || team_src::text)::uuid) STORED,
  team_src bigint,
  conversation_src bigint NOT NULL,
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  convstore_nul jsonb,
  UNIQUE (store_id, src_id)
);
CREATE INDEX idx_messages_conversation_id ON @.messages (conversation_id);
CREATE INDEX idx_messages_created_at ON @.messages (created_at DESC);
CREATE INDEX idx_messages_metadata ON @.messages USING GIN (metadata);
CREATE INDEX messages_team_time ON @.messages (team_id, created_at);

CREATE TABLE @.tool_calls (
  id uuid PRIMARY KEY,
  message_id uuid NOT NULL,
  tool_name text NOT NULL,
  tool_input jsonb NOT NULL,
  tool_output jsonb,
  duration_ms bigint GENERATED ALWAYS AS (duration_us / 1000) STORED,
  status text NOT NULL,
  error_message text,
  created_at timestamptz NOT NULL,
  call_id text,
  updated_at timestamptz,
  duration_us bigint,
  message_src bigint NOT NULL,
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  convstore_nul jsonb,
  UNIQUE (store_id, src_id)
);
CREATE INDEX idx_tool_calls_message_id ON @.tool_calls (message_id);
CREATE INDEX idx_tool_calls_tool_name ON @.tool_calls (tool_name, created_at DESC);

CREATE TABLE @.convstore_message_tombstones (
  message_id uuid NOT NULL,
  conversation_id uuid NOT NULL,
  position bigint NOT NULL,
  role text NOT NULL,
  model text NOT NULL,
  tokens_input bigint,
  tokens_output bigint,
  tokens_cached_input bigint,
  tokens_cache_write bigint,
  tokens_reasoning bigint,
  cost_nanousd bigint,
  cost_usd numeric(24, 9) GENERATED ALWAYS AS (cost_nanousd::numeric / 1000000000) STORED,
  latency_us bigint,
  request_id text,
  created_at timestamptz NOT NULL,
  deleted_at timestamptz NOT NULL,
  team_id uuid GENERATED ALWAYS AS (md5(store_id::text || '/teams/' || team_src::text)::uuid) STORED,
  team_src bigint,
  conversation_src bigint NOT NULL,
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  convstore_nul jsonb,
  PRIMARY KEY (store_id, src_id)
);
CREATE INDEX convstore_message_tombstones_conversation ON @.convstore_message_tombstones (conversation_id);

CREATE TABLE @.api_usage (
  id uuid NOT NULL,
  user_id uuid GENERATED ALWAYS AS (md5(store_id::text || '/users/' || user_src::text)::uuid) STORED,
  team_id uuid GENERATED ALWAYS AS (md5(store_id::text || '/teams/' || team_src::text)::uuid) STORED,
  conversation_id uuid,
  model text NOT NULL,
  endpoint text NOT NULL,
  tokens_input bigint,
  tokens_output bigint,
  cost_usd numeric(24, 9) GENERATED ALWAYS AS (cost_nanousd::numeric / 1000000000) STORED,
  latency_ms bigint GENERATED ALWAYS AS (latency_us / 1000) STORED,
  status text NOT NULL,
  error_code text,
  error_message text,
  recorded_at timestamptz NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  tokens_cached_input bigint,
  tokens_cache_write bigint,
  tokens_reasoning bigint,
  cost_nanousd bigint,
  price_id bigint,
  latency_us bigint,
  request_id text,
  user_src bigint NOT NULL,
  team_src bigint,
  conversation_src bigint,
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  convstore_nul jsonb,
  PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX api_usage_source_row ON @.api_usage (store_id, src_id);
CREATE INDEX idx_api_usage_user_time ON @.api_usage (user_id, recorded_at DESC);
CREATE INDEX idx_api_usage_team_time ON @.api_usage (team_id, recorded_at DESC);
CREATE INDEX idx_api_usage_model_time ON @.api_usage (model, recorded_at DESC);

CREATE TABLE @.convstore_budgets (
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  name text NOT NULL,
  scope text NOT NULL,
  scope_src bigint NOT NULL,
  period text NOT NULL,
  window_hours bigint NOT NULL,
  hard_limit_nanousd bigint,
  soft_limit_nanousd bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  convstore_nul jsonb,
  PRIMARY KEY (store_id, src_id)
);

CREATE TABLE @.convstore_budget_reservations (
  store_id uuid NOT NULL,
  src_id bigint NOT NULL,
  request_id text NOT NULL,
  user_id uuid GENERATED ALWAYS AS (md5(store_id::text || '/users/' || user_src::text)::uuid) STORED,
  team_id uuid GENERATED ALWAYS AS (md5(store_id::text || '/teams/' || team_src::text)::uuid) STORED,
  amount_nanousd bigint NOT NULL,
  state text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  usage_src bigint,
  user_src bigint NOT NULL,
  team_src bigint,
  convstore_nul jsonb,
  PRIMARY KEY (store_id, src_id)
);

CREATE TABLE @.audit_log (
  id bigserial PRIMARY KEY,
  user_id uuid,
  action text NOT NULL,
  resource_type text,
  resource_id text,
  changes jsonb,
  ip_address inet,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  store_id uuid,
  src_id bigint,
  UNIQUE (store_id, src_id)
);
CREATE INDEX idx_audit_log_user_id ON @.audit_log (user_id, created_at DESC);
CREATE INDEX idx_audit_log_resource ON @.audit_log (resource_type, resource_id);

CREATE TABLE @.metrics (
  id bigserial,
  metric_type text NOT NULL,
  metric_name text NOT NULL,
  value numeric NOT NULL,
  unit text,
  labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  store_id uuid,
  src_id bigint,
  PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX metrics_type_time ON @.metrics (metric_type, recorded_at DESC);
)sql";

// Version 2: global budgets — definitions by the keys every store uses, the ledger of reservations admitted against
// them, and each budget's settled spend per UTC hour of the reservations' creation, kept by a trigger on the ledger
// (so admission sums at most a window's hours, not every reservation a month ever made).
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE @.convstore_global_budgets (
  name text PRIMARY KEY,
  scope text NOT NULL CHECK (scope IN ('global', 'team', 'user')),
  scope_key text NOT NULL DEFAULT '',
  period text NOT NULL CHECK (period IN ('day', 'week', 'month', 'rolling')),
  window_hours bigint NOT NULL DEFAULT 0,
  hard_limit_nanousd bigint,
  soft_limit_nanousd bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE @.convstore_global_ledger (
  budget text NOT NULL REFERENCES @.convstore_global_budgets (name) ON DELETE CASCADE,
  store_id uuid NOT NULL,
  request_id text NOT NULL,
  user_key text NOT NULL,
  team_key text NOT NULL DEFAULT '',
  state text NOT NULL CHECK (state IN ('open', 'settled', 'released')),
  amount_nanousd bigint NOT NULL,
  created_at_us bigint NOT NULL,
  expires_at_us bigint NOT NULL,
  settled_at_us bigint,
  created_at timestamptz GENERATED ALWAYS AS (to_timestamp(created_at_us / 1000000.0)) STORED,
  PRIMARY KEY (budget, store_id, request_id)
);
CREATE INDEX convstore_global_ledger_open ON @.convstore_global_ledger (budget, expires_at_us) WHERE state = 'open';
CREATE INDEX convstore_global_ledger_request ON @.convstore_global_ledger (store_id, request_id);
CREATE TABLE @.convstore_global_settled (
  budget text NOT NULL REFERENCES @.convstore_global_budgets (name) ON DELETE CASCADE,
  hour_us bigint NOT NULL,
  amount_nanousd bigint NOT NULL,
  PRIMARY KEY (budget, hour_us)
);
CREATE FUNCTION @.convstore_global_settled_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.state = 'settled' THEN
    UPDATE @.convstore_global_settled SET amount_nanousd = amount_nanousd - OLD.amount_nanousd
     WHERE budget = OLD.budget
       AND hour_us = OLD.created_at_us - ((OLD.created_at_us % 3600000000) + 3600000000) % 3600000000;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.state = 'settled' THEN
    INSERT INTO @.convstore_global_settled AS t (budget, hour_us, amount_nanousd)
    VALUES (NEW.budget, NEW.created_at_us - ((NEW.created_at_us % 3600000000) + 3600000000) % 3600000000,
            NEW.amount_nanousd)
    ON CONFLICT (budget, hour_us) DO UPDATE SET amount_nanousd = t.amount_nanousd + EXCLUDED.amount_nanousd;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER convstore_global_settled_track AFTER INSERT OR UPDATE OR DELETE ON @.convstore_global_ledger
  FOR EACH ROW EXECUTE FUNCTION @.convstore_global_settled_track();
)sql";

// Version 3: the audit log and metrics synced — the audit entries' actor, the pseudonymous ids of the people they
// are by and about, and their personal details (an erasure removes them here too); the NUL map both tables' rows
// may need; metrics found by source row.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE @.audit_log ADD COLUMN IF NOT EXISTS actor text, ADD COLUMN IF NOT EXISTS actor_user text,
  ADD COLUMN IF NOT EXISTS subject_user text, ADD COLUMN IF NOT EXISTS personal jsonb,
  ADD COLUMN IF NOT EXISTS convstore_nul jsonb;
CREATE INDEX IF NOT EXISTS audit_log_actor_user ON @.audit_log (actor_user, created_at DESC)
  WHERE actor_user IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_subject_user ON @.audit_log (subject_user, created_at DESC)
  WHERE subject_user IS NOT NULL;
ALTER TABLE @.metrics ADD COLUMN IF NOT EXISTS convstore_nul jsonb;
CREATE INDEX IF NOT EXISTS metrics_source_row ON @.metrics (store_id, src_id);
)sql";

// Version 4: a conversation's counters as the store keeps them (src_*: they lag its newest messages, see the
// store's records/conversation_counters.h) next to the counters as read, which each sync batch recounts from the
// stored ones and the newest messages (Applier::RecountConversations); the index that recount reads.
constexpr std::string_view kSchemaV4 = R"sql(
ALTER TABLE @.conversations ADD COLUMN IF NOT EXISTS src_message_count bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_next_position bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_updated_at_us bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_tokens_input bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_tokens_output bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_tokens_cached_input bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_tokens_reasoning bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_tokens_cache_write bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS src_cost_nanousd bigint NOT NULL DEFAULT 0;
UPDATE @.conversations SET src_message_count = message_count, src_next_position = next_position,
  src_updated_at_us = updated_at_us, src_tokens_input = tokens_input, src_tokens_output = tokens_output,
  src_tokens_cached_input = tokens_cached_input, src_tokens_reasoning = tokens_reasoning,
  src_tokens_cache_write = tokens_cache_write, src_cost_nanousd = cost_nanousd;
CREATE INDEX IF NOT EXISTS messages_conversation_position ON @.messages (store_id, conversation_src, position);
)sql";

// kSchemaV<n> for n in 2..kPgSchemaVersion: what upgrades version n-1 to n.
constexpr std::string_view kUpgrades[] = {kSchemaV2, kSchemaV3, kSchemaV4};
static_assert(std::size(kUpgrades) == kPgSchemaVersion - 1);

// The tables of every version: a schema that has one of them without convstore_schema is someone else's.
const std::vector<std::string_view>& OwnTables() {
  static const std::vector<std::string_view> tables = {
      "convstore_schema", "convstore_stores", "convstore_dead_letters", "teams", "users", "convstore_prices",
      "conversations", "messages", "tool_calls", "convstore_message_tombstones", "api_usage", "convstore_budgets",
      "convstore_budget_reservations", "convstore_global_budgets", "convstore_global_ledger", "convstore_global_settled", "audit_log", "metrics"};
  return tables;
}

std::string Replace(std::string_view text, std::string_view from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string_view::npos; pos = hit + from.size())
    out.append(text.substr(pos, hit - pos)).append(to);
  return out.append(text.substr(pos));
}

std::string Literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Runs the upgrades from `version` to kPgSchemaVersion and records the new version, in the caller's transaction.
Status Upgrade(PgConnection& pg, const std::string& quoted_schema, int version) {
  for (int v = version + 1; v <= kPgSchemaVersion; ++v)
    CONVSTORE_RETURN_IF_ERROR(pg.Exec(Replace(kUpgrades[v - 2], "@.", quoted_schema + ".")));
  return pg.Exec("INSERT INTO " + quoted_schema + ".convstore_schema (version, library_version) VALUES (" +
                 std::to_string(kPgSchemaVersion) + ", " + Literal(CONVSTORE_VERSION_STRING) + ")");
}

Result<PgSchemaInfo> CheckOrCreate(PgConnection& pg, const std::string& schema) {
  const std::string q = QuoteIdentifier(schema);
  // One creator at a time per schema; the others wait here and then find the tables made.
  CONVSTORE_RETURN_IF_ERROR(
      pg.Run("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"convstore schema " + schema}).status());
  auto has_ns = pg.Query("SELECT 1 FROM pg_namespace WHERE nspname = $1", {schema});
  if (!has_ns.ok()) return has_ns.status();
  if (has_ns->rows() == 0) CONVSTORE_RETURN_IF_ERROR(pg.Exec("CREATE SCHEMA " + q));

  auto existing = pg.Query(
      "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname",
      {schema});
  if (!existing.ok()) return existing.status();
  bool has_version_table = false;
  std::string foreign;
  for (int i = 0; i < existing->rows(); ++i) {
    const std::string_view name = *existing->Get(i, 0);
    if (name == "convstore_schema") has_version_table = true;
    for (std::string_view own : OwnTables())
      if (name == own) foreign += (foreign.empty() ? "" : ", ") + std::string(name);
  }

  PgSchemaInfo info;
  if (has_version_table) {
    auto version = pg.Query("SELECT coalesce(max(version), 0) FROM " + q + ".convstore_schema");
    if (!version.ok()) return version.status();
    info.version = static_cast<int>(version->Int(0, 0));
    if (info.version > kPgSchemaVersion)
      return Status::SchemaTooNew("the convstore tables in schema " + schema + " of " + pg.describe() +
                                  " are at version " + std::to_string(info.version) + "; this convstore (" +
                                  CONVSTORE_VERSION_STRING + ") knows up to version " +
                                  std::to_string(kPgSchemaVersion) + ": upgrade convstore");
    if (info.version < 1)
      return Status::Conflict("schema " + schema + " of " + pg.describe() +
                              " has a convstore_schema table without a version: not a schema convstore made");
    auto embedding = pg.Query(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'messages' "
        "AND a.attname = 'content_embedding'",
        {schema});
    if (!embedding.ok()) return embedding.status();
    if (embedding->rows() == 0)
      return Status::Conflict("schema " + schema + " of " + pg.describe() +
                              ": the messages table lacks content_embedding (changed outside convstore)");
    info.embedding_type = std::string(*embedding->Get(0, 0));
    if (info.version < kPgSchemaVersion) {
      CONVSTORE_RETURN_IF_ERROR(Upgrade(pg, q, info.version));
      util::Logger().info("sync: upgraded the convstore tables in schema {} of {} from version {} to {}", schema,
                          pg.describe(), info.version, kPgSchemaVersion);
      info.upgraded_from = info.version;
      info.version = kPgSchemaVersion;
    }
    return info;
  }
  if (!foreign.empty())
    return Status::Conflict("schema " + schema + " of " + pg.describe() + " already has table(s) " + foreign +
                            " that convstore did not create (no convstore_schema table): sync into another schema "
                            "or database");

  // pgvector when the server has it (installed, or installable by this role); real[] otherwise.
  info.embedding_type = "real[]";
  auto vector = pg.Query("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'), "
                         "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')");
  if (!vector.ok()) return vector.status();
  if (vector->Get(0, 0) == "t") {
    info.embedding_type = "vector";
  } else if (vector->Get(0, 1) == "t") {
    CONVSTORE_RETURN_IF_ERROR(pg.Exec("SAVEPOINT convstore_vector"));
    if (pg.Exec("CREATE EXTENSION IF NOT EXISTS vector").ok()) {
      info.embedding_type = "vector";
      CONVSTORE_RETURN_IF_ERROR(pg.Exec("RELEASE SAVEPOINT convstore_vector"));
    } else {
      CONVSTORE_RETURN_IF_ERROR(pg.Exec("ROLLBACK TO SAVEPOINT convstore_vector"));
    }
  }
  const std::string ddl = Replace(Replace(kSchemaV1, "@EMBEDDING@", info.embedding_type), "@.", q + ".");
  CONVSTORE_RETURN_IF_ERROR(pg.Exec(ddl));
  CONVSTORE_RETURN_IF_ERROR(Upgrade(pg, q, 1));
  info.version = kPgSchemaVersion;
  info.created = true;
  return info;
}

}  // namespace

Result<PgSchemaInfo> EnsureSchema(PgConnection& pg, const std::string& schema) {
  if (schema.empty() || schema.size() > 63 || schema.find('\0') != std::string::npos)
    return Status::InvalidArgument("a PostgreSQL schema name is 1..63 bytes without NUL");
  CONVSTORE_RETURN_IF_ERROR(pg.Exec("BEGIN"));
  auto info = CheckOrCreate(pg, schema);
  if (!info.ok()) {
    (void)pg.Exec("ROLLBACK");
    return info.status();
  }
  CONVSTORE_RETURN_IF_ERROR(pg.Exec("COMMIT"));
  return info;
}

Result<std::unique_ptr<PgConnection>> ConnectWithSchema(const std::string& url, const std::string& schema) {
  auto pg = PgConnection::Connect(url);
  if (!pg.ok()) return pg.status();
  auto info = EnsureSchema(**pg, schema);
  if (!info.ok()) return info.status();
  return std::move(*pg);
}

Status EnsureMonthPartition(PgConnection& pg, const std::string& schema, const std::string& table,
                            int64_t month_start_us) {
  int64_t year;
  unsigned month;
  util::MonthStartMicros(month_start_us, &year, &month);
  const std::string name = fmt::format("{}_{:04}_{:02}", table, year, month);
  const std::string from = util::FormatIso8601(month_start_us);
  const std::string to = util::FormatIso8601(util::NextMonthStartMicros(month_start_us));
  const std::string q = QuoteIdentifier(schema);
  // Syncs of other stores may create the same partition at the same moment: one at a time.
  CONVSTORE_RETURN_IF_ERROR(
      pg.Run("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"convstore partitions " + schema}).status());
  auto exists = pg.Query("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE n.nspname = $1 AND c.relname = $2",
                         {schema, name});
  if (!exists.ok()) return exists.status();
  if (exists->rows() > 0) return Status::OK();
  return pg.Exec("CREATE TABLE IF NOT EXISTS " + q + "." + QuoteIdentifier(name) + " PARTITION OF " + q + "." +
                 QuoteIdentifier(table) + " FOR VALUES FROM ('" + from + "') TO ('" + to + "')");
}

}  // namespace convstore::sync
