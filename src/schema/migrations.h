// Versioned schema migrations and their runner.
//
// The schema_migrations table records every applied migration (version, name, applied_at). Opening a file runs
// the pending ones in a single IMMEDIATE transaction: either all apply or none do. A file whose highest version is
// above what this build knows is refused with kSchemaTooNew.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::schema {

// What a migration's C++ step gets: the time, and where to report progress of long backfills.
struct MigrationContext {
  int64_t now_us = 0;
  std::function<void(int64_t done, int64_t total)> progress;  // may be empty
};

struct Migration {
  int version;       // 1, 2, ... strictly increasing
  const char* name;  // short description
  const char* sql;   // statements run as one script
  // Optional work in C++ after the script, in the same transaction (e.g. backfilling derived tables).
  Status (*after)(sqlite::Connection& conn, const MigrationContext& context) = nullptr;
  // The C++ step only fills tables this migration creates (it cannot change a row that was there before).
  bool fills_new_tables_only = false;
};

// PRAGMA application_id of convstore files ("CSTR").
inline constexpr int32_t kApplicationId = 0x43535452;

// Migrations shipped with this build, in order.
const std::vector<Migration>& BuiltinMigrations();

// Brings the database on `conn` up to the last of `migrations`; returns the resulting version.
// `progress` (optional) hears (version, name, 0, 0) as each migration starts, then (version, name, done, total)
// from migrations that backfill.
using MigrationProgressFn = std::function<void(int version, const char* name, int64_t done, int64_t total)>;
Result<int> Migrate(sqlite::Connection& conn, const std::vector<Migration>& migrations, int64_t now_us,
                    const MigrationProgressFn& progress = nullptr);

// What opening a file read-write would do to it: migrate from version `from` to `to` (equal: nothing), and whether
// any of those steps rewrites data (a C++ step that backfills or rewrites rows; from 0, a new file, rewrites
// nothing). Reads only; refuses foreign, too-new and damaged files (CheckSchema) as Migrate does.
// Whether migration `m`, run on a file at version `from`, rewrites data: it has a C++ step (a backfill) that may
// change rows already there, and the file has rows (a new file, version 0, has none).
inline bool RewritesData(const Migration& m, int from) {
  return m.after != nullptr && !m.fills_new_tables_only && from > 0;
}

struct MigrationPlan {
  int from = 0;
  int to = 0;
  bool rewrites_data = false;
};
Result<MigrationPlan> PlanMigration(sqlite::Connection& conn, const std::vector<Migration>& migrations);

// For a read-only open: the file's version when it is a current convstore file; kReadOnly when it needs a
// migration (or has no schema yet), kSchemaTooNew / kCorruption as Migrate. Writes nothing.
Result<int> CurrentVersion(sqlite::Connection& conn, const std::vector<Migration>& migrations);

}  // namespace convstore::schema
