// What Open does before it migrates a store file: it takes the "<store>-migrate" marker, so that other processes
// opening the file meanwhile wait for the migration with a message saying who is migrating what (instead of
// timing out on SQLite's write lock), and, when a pending migration rewrites data, it takes a backup of the file
// as it is and verifies it before anything is changed.
//
// Free functions; thread-safe. The marker PrepareMigration returns belongs to the caller's Open, which drops it
// after the migration commits (or fails).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "convstore/options.h"
#include "convstore/status.h"
#include "sqlite/connection.h"
#include "util/marker_file.h"

namespace convstore::api {

// "<path>-migrate".
std::string MigrationMarkerPath(const std::string& path);

// Who is migrating the store file at `path` right now (a sentence naming the process, the versions and the start),
// or "" when nobody is.
std::string MigrationInProgress(const std::string& path);

// What PrepareMigration leaves: the marker, held until the migration has committed or failed (empty when the file
// needs no migration), and the verified backup it took ("" when none). A migration that then fails leaves the file
// as it was: DiscardBackup removes that backup again, so retried opens do not fill the disk with copies.
struct PreparedMigration {
  std::optional<util::MarkerFile> marker{};
  std::string backup{};
};
void DiscardBackup(const PreparedMigration& prepared);

// Prepares `writer`'s file at `path` for migration: nothing when it needs none. Otherwise waits for any other
// process's migration of it (reporting the wait through options.on_progress and the log), and when the file still
// needs a migration that rewrites data and options.backup_before_migration is set, writes a verified backup
// "<name>.before-schema-<to>-<UTC time>.db" (with its manifest) into options.migration_backup_directory (default:
// the store's directory). A backup that cannot be written or does not verify fails the open, nothing migrated.
Result<PreparedMigration> PrepareMigration(sqlite::Connection& writer, const std::string& path,
                                           const Options& options);

}  // namespace convstore::api
