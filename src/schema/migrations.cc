#include "schema/migrations.h"

#include <fmt/format.h>

#include "convstore/version.h"
#include "ops/journal.h"
#include "schema/schema_check.h"
#include "schema/versions.h"
#include "util/logging.h"
#include "util/status_macros.h"

namespace convstore::schema {

namespace {

Result<int64_t> QueryInt(sqlite::Connection& conn, const char* sql, std::string_view context) {
  auto value = conn.QueryInt(sql, context);
  if (!value.ok()) return value.status();
  return value->value_or(0);
}

}  // namespace

namespace {

struct FileState {
  int64_t application_id = 0;
  bool has_migrations_table = false;
  int64_t table_count = 0;
  int64_t version = 0;
};

Result<FileState> Inspect(sqlite::Connection& conn) {
  FileState f;
  auto app_id = QueryInt(conn, "PRAGMA application_id", "read application_id");
  if (!app_id.ok()) return app_id.status();
  auto has_table = QueryInt(
      conn, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='schema_migrations'", "inspect schema");
  if (!has_table.ok()) return has_table.status();
  auto tables = QueryInt(conn, "SELECT count(*) FROM sqlite_schema WHERE type='table'", "inspect schema");
  if (!tables.ok()) return tables.status();
  f.application_id = *app_id;
  f.has_migrations_table = *has_table != 0;
  f.table_count = *tables;
  if (f.has_migrations_table) {
    auto v = QueryInt(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations", "read schema version");
    if (!v.ok()) return v.status();
    f.version = *v;
  }
  return f;
}

// Refuses files of other applications and files from a newer convstore.
Status Check(const FileState& f, int latest) {
  if (f.application_id != 0 && f.application_id != kApplicationId)
    return Status::Corruption(fmt::format("not a convstore database (application_id {:#x})", f.application_id));
  if (!f.has_migrations_table && f.table_count > 0)
    return Status::Corruption("not a convstore database: it has tables but no schema_migrations table");
  if (f.version > latest)
    return Status::SchemaTooNew(fmt::format(
        "the file has schema version {} but this convstore ({}) knows versions up to {}; upgrade convstore",
        f.version, CONVSTORE_VERSION_STRING, latest));
  return Status::OK();
}

}  // namespace

const std::vector<Migration>& BuiltinMigrations() {
  static const std::vector<Migration> kMigrations = {SchemaV1(), SchemaV2(), SchemaV3(), SchemaV4(), SchemaV5(), SchemaV6(), SchemaV7(), SchemaV8(), SchemaV9(), SchemaV10(), SchemaV11(), SchemaV12(), SchemaV13(), SchemaV14()};
  return kMigrations;
}

Result<int> CurrentVersion(sqlite::Connection& conn, const std::vector<Migration>& migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  auto state = Inspect(conn);
  if (!state.ok()) return state.status();
  if (Status s = Check(*state, latest); !s.ok()) return s;
  CONVSTORE_RETURN_IF_ERROR(CheckSchema(conn, migrations, static_cast<int>(state->version)));
  if (state->version == 0)
    return Status::ReadOnly("the file has no convstore schema yet: open it read-write once to create it");
  if (state->version < latest)
    return Status::ReadOnly(fmt::format(
        "the file has schema version {}; this convstore ({}) needs version {}: open it read-write once to migrate it",
        state->version, CONVSTORE_VERSION_STRING, latest));
  return latest;
}

Result<MigrationPlan> PlanMigration(sqlite::Connection& conn, const std::vector<Migration>& migrations) {
  MigrationPlan plan;
  plan.to = migrations.empty() ? 0 : migrations.back().version;
  auto state = Inspect(conn);
  if (!state.ok()) return state.status();
  if (Status s = Check(*state, plan.to); !s.ok()) return s;
  CONVSTORE_RETURN_IF_ERROR(CheckSchema(conn, migrations, static_cast<int>(state->version)));
  plan.from = static_cast<int>(state->version);
  for (const Migration& m : migrations)
    if (m.version > plan.from && RewritesData(m, plan.from)) plan.rewrites_data = true;
  return plan;
}

Result<int> Migrate(sqlite::Connection& conn, const std::vector<Migration>& migrations, int64_t now_us,
                    const MigrationProgressFn& progress) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  // A read-only look first: an up-to-date file is opened without writing anything (and without the write lock).
  auto before = Inspect(conn);
  if (!before.ok()) return before.status();
  if (Status s = Check(*before, latest); !s.ok()) return s;
  CONVSTORE_RETURN_IF_ERROR(CheckSchema(conn, migrations, static_cast<int>(before->version)));
  if (before->version == latest && before->application_id == kApplicationId) return latest;

  // A new file gives freed pages back to the file system without a full VACUUM (PRAGMA incremental_vacuum, which
  // Optimize runs). SQLite takes the setting only before the first table exists and outside a transaction; if
  // another process creates the tables first, it is a no-op. An older file keeps its mode until an explicit VACUUM
  // converts it (Optimize with vacuum).
  if (before->table_count == 0)
    CONVSTORE_RETURN_IF_ERROR(conn.Exec("PRAGMA auto_vacuum=INCREMENTAL", "set incremental auto-vacuum"));
  auto txn = sqlite::WriteTransaction::Begin(conn);
  if (!txn.ok()) return txn.status();
  auto state = Inspect(conn);  // again, under the write lock: another process may have migrated meanwhile
  if (!state.ok()) return state.status();
  if (Status s = Check(*state, latest); !s.ok()) return s;
  if (state->version != before->version)
    CONVSTORE_RETURN_IF_ERROR(CheckSchema(conn, migrations, static_cast<int>(state->version)));

  if (auto s = conn.Exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);"
          "PRAGMA application_id=1129534546;",
          "create schema_migrations");
      !s.ok())
    return s;
  static_assert(kApplicationId == 1129534546);

  int applied = 0;
  for (const Migration& m : migrations) {
    if (m.version <= state->version) continue;
    if (progress) progress(m.version, m.name, 0, 0);  // the step starts
    if (auto s = conn.Exec(m.sql, fmt::format("schema migration {} ({})", m.version, m.name)); !s.ok()) return s;
    if (m.after != nullptr) {
      MigrationContext context;
      context.now_us = now_us;
      context.progress = [&progress, &m](int64_t done, int64_t total) {
        util::Logger().info("schema migration {} ({}): {} of {}", m.version, m.name, done, total);
        if (progress) progress(m.version, m.name, done, total);
      };
      if (auto s = m.after(conn, context); !s.ok()) return s;
    }
    if (auto s = conn.Run("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?1, ?2, ?3)",
                          "record schema migration", int64_t{m.version}, std::string_view(m.name), now_us);
        !s.ok())
      return s;
    ++applied;
  }
  if (applied > 0 && state->version > 0) {
    // Changes journaled before this point were recorded in the old schema: a replay stops at the marker.
    auto journal = ops::HasJournal(conn);
    if (!journal.ok()) return journal.status();
    if (*journal)
      CONVSTORE_RETURN_IF_ERROR(ops::AppendEntry(conn, ops::EntryKind::kSchemaMigration, now_us, latest, {}));
  }
  if (auto s = conn.Exec(fmt::format("PRAGMA user_version={}", latest), "set user_version"); !s.ok()) return s;
  if (auto s = txn->Commit(); !s.ok()) return s;
  if (applied > 0)
    util::Logger().info("migrated schema from version {} to {} ({} migrations)", state->version, latest, applied);
  return latest;
}

}  // namespace convstore::schema
