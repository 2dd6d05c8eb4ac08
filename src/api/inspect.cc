// InspectStore: a store file's facts for `convstore info`, read without opening it as a store.
#include <fmt/format.h>

#include "api/file_operations.h"
#include "api/file_path.h"
#include "api/migration_guard.h"
#include "api/open_files.h"
#include "ops/backup_files.h"
#include "ops/journal.h"
#include "schema/migrations.h"
#include "sqlite/connection.h"
#include "util/durable_file.h"
#include "util/status_macros.h"

namespace convstore {

namespace {

Result<StoreInfo> Inspect(const std::string& path) {
  CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(path, "store path"));
  CONVSTORE_RETURN_IF_ERROR(api::CheckReadable(path));
  CONVSTORE_RETURN_IF_ERROR(api::CheckNotHeldExclusive(path));
  StoreInfo info;
  info.path = path;
  auto size = util::FileSize(path);
  if (!size.ok()) return size.status();
  info.file_bytes = *size;
  auto wal = util::FileSize(path + "-wal");
  info.wal_bytes = wal.ok() ? *wal : 0;
  const auto& migrations = schema::BuiltinMigrations();
  info.library_schema_version = migrations.back().version;
  sqlite::ConnectionConfig config;
  config.open_read_only = true;
  auto conn = sqlite::Connection::Open(path, config);
  if (!conn.ok()) return conn.status();
  auto txn = sqlite::ReadTransaction::Begin(**conn);  // every fact from one snapshot
  if (!txn.ok()) return txn.status();
  for (auto [pragma, out] : {std::pair{"PRAGMA page_size", &info.page_size}, std::pair{"PRAGMA page_count", &info.page_count},
                             std::pair{"PRAGMA freelist_count", &info.freelist_pages}}) {
    auto v = (*conn)->QueryIntUncached(pragma, "inspect the file");
    if (!v.ok()) return v.status();
    *out = v->value_or(0);
  }
  auto app = (*conn)->QueryIntUncached("PRAGMA application_id", "inspect the file");
  if (!app.ok()) return app.status();
  auto has_migrations = (*conn)->QueryInt(
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'", "inspect the schema");
  if (!has_migrations.ok()) return has_migrations.status();
  if (has_migrations->value_or(0) == 0) {
    if (info.page_count > 0 && app->value_or(0) != schema::kApplicationId)
      return Status::InvalidArgument(fmt::format("'{}' is not a convstore store", path));
  } else {
    BackupManifest facts;
    CONVSTORE_RETURN_IF_ERROR(ops::ReadDatabaseFacts(**conn, &facts));
    info.schema_version = facts.schema_version;
    info.row_counts = std::move(facts.row_counts);
    info.cost_nanousd = facts.cost_nanousd;
    auto has_journal = ops::HasJournal(**conn);
    if (!has_journal.ok()) return has_journal.status();
    info.has_journal = *has_journal;
    if (info.has_journal) {
      auto journal = ops::ReadStatus(**conn);
      if (!journal.ok()) return journal.status();
      info.journal = std::move(*journal);
    }
  }
  for (const auto& m : migrations)
    if (m.version > info.schema_version)
      info.pending_migrations.push_back({m.version, m.name, schema::RewritesData(m, info.schema_version)});
  info.migration_in_progress = api::MigrationInProgress(path);
  return info;
}

}  // namespace

Result<StoreInfo> InspectStore(const std::string& path) {
  return api::GuardedFree([&] { return Inspect(path); });
}

}  // namespace convstore
