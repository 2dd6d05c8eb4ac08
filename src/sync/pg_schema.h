// The tables convstore keeps in PostgreSQL: the seed chapter's schema (conversations, messages with cost_usd and
// JSONB metadata and their indexes, users, teams, tool_calls, api_usage partitioned by month, audit_log, metrics)
// widened to what convstore accepts, plus a source-store id and source row id on every row and the sync's own
// tables (convstore_schema, convstore_stores, convstore_dead_letters). docs/sync.md lists every column.
//
// EnsureSchema creates the tables in one transaction (under an advisory lock, so N syncs starting at once create
// them once), upgrades an older version, and refuses a newer one or a schema whose tables convstore did not make.
//
// Functions work on the caller's connection, one thread at a time.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "convstore/status.h"
#include "sync/pg_connection.h"

namespace convstore::sync {

// The version of the PostgreSQL schema this library writes.
inline constexpr int kPgSchemaVersion = 4;

struct PgSchemaInfo {
  int version = 0;
  bool created = false;             // by this call
  int upgraded_from = 0;            // the version this call upgraded from; 0 when it did not
  std::string embedding_type;       // "vector" (pgvector) or "real[]"
};

// Creates or checks the tables in `schema` (a PostgreSQL schema name, e.g. "public"). kSchemaTooNew for a newer
// version, kConflict when the schema holds a table of the same name that convstore did not create.
Result<PgSchemaInfo> EnsureSchema(PgConnection& pg, const std::string& schema);

// Connects to `url` and creates or checks the tables in `schema` (EnsureSchema): what a sync round and global
// budgets both do first.
Result<std::unique_ptr<PgConnection>> ConnectWithSchema(const std::string& url, const std::string& schema);

// Creates the monthly partition of `table` (api_usage, metrics) holding the UTC month that starts at
// `month_start_us` when it does not exist. Runs in the caller's transaction, which it holds an advisory lock
// for until it ends (keep that transaction short: syncs of other stores wait on the lock).
Status EnsureMonthPartition(PgConnection& pg, const std::string& schema, const std::string& table,
                            int64_t month_start_us);

}  // namespace convstore::sync
