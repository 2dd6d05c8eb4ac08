// The initial load of one store into PostgreSQL (and the reload after a restore or any break in its journal):
// every synced table read from one SQLite snapshot and streamed through COPY, in bounded memory (rows are sent as
// they are read, in chunks of 256 KiB), replacing the store's rows in one PostgreSQL transaction that also sets
// the store's position to the journal entry the snapshot ends with. A crash at any moment leaves PostgreSQL with
// the old rows and position or the new ones.
//
// A row that does not convert goes to the dead letters; when PostgreSQL refuses a row inside a COPY (which ends
// the COPY), the load starts over loading row by row, each under a savepoint, refusals to the dead letters.
//
// Not thread-safe: one thread, the caller's connections (`source` inside the caller's read transaction).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "convstore/status.h"
#include "sqlite/connection.h"
#include "sync/apply.h"
#include "sync/pg_connection.h"

namespace convstore::sync {

struct LoadPosition {
  int64_t seq = 0;           // the last journal entry the snapshot holds (0: an empty journal)
  int64_t committed_at = 0;  // its commit time, µs
  int schema_version = 0;
};

struct LoadReport {
  int64_t rows = 0;
  int64_t bytes = 0;          // COPY data sent
  int64_t dead_letters = 0;
  bool row_by_row = false;    // the fallback ran
};

// Called after each table and every 50,000 rows: the table, rows of it sent so far, rows of it in all.
using LoadProgress = std::function<void(std::string_view table, int64_t done, int64_t total)>;

// Replaces store `store_id`'s rows in PostgreSQL with those `source` holds and sets its position to `position`;
// `label` names the source (host and path) in convstore_stores. `applier` is the sync's (same connection).
// `cancelled` is asked every 1,000 rows: when it says so, the load stops with kClosed and PostgreSQL is left as it
// was.
Result<LoadReport> LoadStore(sqlite::Connection& source, PgConnection& pg, Applier& applier, const std::string& schema,
                             const std::string& store_id, const std::string& label, const LoadPosition& position,
                             const LoadProgress& progress, const std::function<bool()>& cancelled);

}  // namespace convstore::sync
