// A backup's files and the facts recorded about it: the manifest beside the backup (JSON), and the facts read
// from a store's database (schema version, journal position, row counts, cost total) that the manifest records
// at backup time and verification recomputes.
//
// Stateless functions; thread-safe as the connection passed is (one thread at a time).
#pragma once
#include <string>
#include <string_view>

#include "convstore/ops.h"
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::ops {

inline constexpr int kBackupFormat = 1;

// "<backup>.manifest.json".
std::string ManifestPathOf(const std::string& backup_path);

std::string EncodeManifest(const BackupManifest& manifest);
// Strict: every field present with its type; kCorruption naming what is wrong.
Result<BackupManifest> DecodeManifest(std::string_view json);

// Fills schema_version, journal_seq, row_counts and cost_nanousd from the database on `conn` (read in the
// caller's snapshot).
Status ReadDatabaseFacts(sqlite::Connection& conn, BackupManifest* facts);

}  // namespace convstore::ops
