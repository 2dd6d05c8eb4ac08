// Backups: taking one from an open store (Operations::Backup), checking one without trusting it (VerifyBackup)
// and putting one in place of a store (RestoreBackup). docs/operations.md, "Backups", says what each guarantees.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "api/file_operations.h"
#include "api/file_path.h"
#include "api/open_files.h"
#include "api/store_impl.h"
#include "convstore/env.h"
#include "convstore/version.h"
#include "cost/histogram.h"
#include "cost/reports.h"
#include "metadata/index.h"
#include "ops/audit_log.h"
#include "ops/backup_files.h"
#include "ops/file_cipher.h"
#include "ops/journal.h"
#include "ops/sha256.h"
#include "schema/migrations.h"
#include "schema/schema_check.h"
#include "util/durable_file.h"
#include "util/json_writer.h"
#include "util/time.h"

namespace convstore {

namespace {

bool Exists(const std::string& path) { return util::FileSize(path).ok(); }

}  // namespace

namespace api {

Status CopyInto(sqlite::Connection& conn, const std::string& tmp, const api::ProgressReporter& report) {
  auto pages = conn.QueryInt("PRAGMA page_count", "backup: page count");
  auto page_size = conn.QueryInt("PRAGMA page_size", "backup: page size");
  if (!pages.ok()) return pages.status();
  if (!page_size.ok()) return page_size.status();
  struct Ctx {
    const api::ProgressReporter* report;
    const std::string* tmp;
    int64_t total;
  } ctx{&report, &tmp, pages->value_or(0) * page_size->value_or(4096)};
  report("backup: copy", 0, ctx.total);
  sqlite3_progress_handler(
      conn.raw(), 20000,
      [](void* p) -> int {
        auto* c = static_cast<Ctx*>(p);
        auto size = util::FileSize(*c->tmp);
        if (size.ok()) (*c->report)("backup: copy", std::min(*size, c->total), c->total);
        return 0;
      },
      &ctx);
  Status s = conn.Run("VACUUM INTO ?1", "backup: copy the database", std::string_view(tmp));
  sqlite3_progress_handler(conn.raw(), 0, nullptr, nullptr);
  CONVSTORE_RETURN_IF_ERROR(s);
  report("backup: copy", ctx.total, ctx.total);
  return util::SyncFile(tmp);  // VACUUM INTO does not sync its output
}

}  // namespace api

namespace {

Result<BackupManifest> FactsOf(const std::string& database) {
  sqlite::ConnectionConfig config;
  config.open_read_only = true;
  auto conn = sqlite::Connection::Open(database, config);
  if (!conn.ok()) return conn.status();
  auto txn = sqlite::ReadTransaction::Begin(**conn);
  if (!txn.ok()) return txn.status();
  BackupManifest facts;
  CONVSTORE_RETURN_IF_ERROR(ops::ReadDatabaseFacts(**conn, &facts));
  return facts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

void CompareWithManifest(const BackupManifest& facts, const BackupManifest& manifest,
                         std::vector<std::string>* problems) {
  if (facts.schema_version != manifest.schema_version)
    problems->push_back(fmt::format("schema version {} where the manifest says {}", facts.schema_version,
                                    manifest.schema_version));
  if (facts.journal_seq != manifest.journal_seq)
    problems->push_back(fmt::format("journal at entry {} where the manifest says {}", facts.journal_seq,
                                    manifest.journal_seq));
  auto sorted = [](std::vector<std::pair<std::string, int64_t>> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  if (sorted(facts.row_counts) != sorted(manifest.row_counts))
    problems->push_back("row counts differ from the manifest's");
  if (facts.cost_nanousd != manifest.cost_nanousd)
    problems->push_back(fmt::format("cost total {} nano-USD where the manifest says {}", facts.cost_nanousd,
                                    manifest.cost_nanousd));
}

// The checks of VerifyBackup on a plain database file; `manifest` (nullptr for a live store: CheckStore) adds the
// comparisons with what it recorded. Returns the file's schema version (0 when unknown).
int CheckDatabase(const std::string& database, const BackupManifest* manifest, std::vector<std::string>* problems) {
  sqlite::ConnectionConfig config;
  config.open_read_only = true;
  auto conn = sqlite::Connection::Open(database, config);
  if (!conn.ok()) {
    problems->push_back(fmt::format("the database does not open: {}", conn.status().message()));
    return 0;
  }
  if (int rc = cost::RegisterHistogramFunctions((*conn)->raw()); rc != 0) {
    problems->push_back("registering SQL functions failed");
    return 0;
  }
  int64_t rows = 0;
  auto integrity = (*conn)->ForEachRow("PRAGMA integrity_check", "integrity check", [&](const sqlite::Stmt& st) {
    if (st.Text(0) != "ok" && rows++ < 10) problems->push_back(fmt::format("integrity_check: {}", st.Text(0)));
    return true;
  });
  if (!integrity.ok()) {
    problems->push_back(fmt::format("integrity_check failed: {}", integrity.status().message()));
    return 0;
  }
  if (rows > 0) return 0;  // a damaged file: the other checks would only repeat it
  // One snapshot for the schema, the facts and the derived tables (a live store goes on being written).
  auto txn = sqlite::ReadTransaction::Begin(**conn);
  if (!txn.ok()) {
    problems->push_back(txn.status().message());
    return 0;
  }
  const auto& migrations = schema::BuiltinMigrations();
  auto file_version = (*conn)->QueryInt("SELECT coalesce(max(version), 0) FROM schema_migrations", "read the schema version");
  const int version = manifest ? manifest->schema_version : static_cast<int>(file_version.ok() ? file_version->value_or(0) : 0);
  if (version < 1 || version > migrations.back().version) {
    problems->push_back(fmt::format("schema version {} is not one this build knows", version));
    return 0;
  }
  if (Status s = schema::CheckSchema(**conn, migrations, version); !s.ok()) {
    problems->push_back(s.message());
    return version;
  }
  BackupManifest facts;
  if (Status s = ops::ReadDatabaseFacts(**conn, &facts); !s.ok()) {
    problems->push_back(s.message());
    return version;
  }
  if (manifest != nullptr) CompareWithManifest(facts, *manifest, problems);
  if (version != migrations.back().version) return version;  // derived tables: checked in current files
  auto rollups = cost::CheckRollups(**conn, false);
  if (!rollups.ok()) problems->push_back(fmt::format("cost rollups: {}", rollups.status().message()));
  else if (rollups->differences != 0)
    problems->push_back(fmt::format("cost rollups: {} rows differ from a recount", rollups->differences));
  auto index = metadata::Verify(**conn);
  if (!index.ok()) problems->push_back(fmt::format("metadata index: {}", index.status().message()));
  else if (!index->consistent())
    problems->push_back(fmt::format("metadata index: {} missing, {} extra, {} wrong counts", index->missing,
                                    index->extra, index->wrong_counts));
  return version;
}


Result<BackupCheck> Verify(const std::string& path, const VerifyOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(path, "backup path"));
  auto key = api::KeyOf(options.encryption_key_hex);
  if (!key.ok()) return key.status();
  auto size = util::FileSize(path);
  if (!size.ok()) return size.status();
  BackupCheck check;
  auto text = util::ReadWholeFile(ops::ManifestPathOf(path), 1 << 20);
  if (!text.ok()) {
    check.problems.push_back(fmt::format("no readable manifest: {}", text.status().message()));
    return check;
  }
  auto manifest = ops::DecodeManifest(*text);
  if (!manifest.ok()) {
    check.problems.push_back(manifest.status().message());
    return check;
  }
  check.manifest = *manifest;
  if (*size != manifest->bytes)
    check.problems.push_back(fmt::format("the file has {} bytes where the manifest says {}", *size, manifest->bytes));
  auto digest = ops::Sha256OfFile(path);
  if (!digest.ok()) return digest.status();
  if (*digest != manifest->sha256)
    check.problems.push_back("the file's SHA-256 differs from the manifest's: the backup is damaged");
  if (!check.problems.empty()) return check;
  std::string database = path;
  api::RemoveOnFailure cleanup;
  if (manifest->encrypted) {
    if (!*key) return Status::InvalidArgument("the backup is encrypted: give its encryption key");
    database = util::TempPathBeside(path);
    cleanup.paths.push_back(database);
    if (Status s = ops::DecryptFile(path, database, **key); !s.ok()) {
      if (s.code() == Code::kInvalidArgument || s.code() == Code::kIoError) return s;
      check.problems.push_back(s.message());
      return check;
    }
    auto plain = ops::Sha256OfFile(database);
    if (!plain.ok()) return plain.status();
    if (*plain != manifest->database_sha256)
      check.problems.push_back("the decrypted database's SHA-256 differs from the manifest's");
  } else if (manifest->database_sha256 != manifest->sha256) {
    check.problems.push_back("the manifest's two checksums differ for a backup that is not encrypted");
  }
  if (check.problems.empty()) CheckDatabase(database, &*manifest, &check.problems);
  check.ok = check.problems.empty();
  return check;
}

}  // namespace

namespace api {

Result<BackupReport> WriteBackup(const std::string& source, const BackupOptions& options, int64_t now_us,
                                 const std::function<Status(const std::string&, const ProgressReporter&)>& copy) {
  CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(options.path, "backup path"));
  auto key = api::KeyOf(options.encryption_key_hex);
  if (!key.ok()) return key.status();
  const std::string manifest_path = ops::ManifestPathOf(options.path);
  CONVSTORE_RETURN_IF_ERROR(CheckPathName(manifest_path));
  if (Exists(options.path)) return Status::Conflict(fmt::format("'{}' exists: a backup never overwrites", options.path));
  if (Exists(manifest_path)) return Status::Conflict(fmt::format("'{}' exists: a backup never overwrites", manifest_path));
  if (!DirectoryWritable(options.path))
    return Status::ReadOnly(fmt::format("cannot create files in the directory of '{}'", options.path));

  const api::ProgressReporter report{&options.on_progress};
  const auto started = api::SteadyClock::now();
  BackupManifest manifest;
  manifest.created_at = now_us;
  api::RemoveOnFailure cleanup;
  std::string tmp = util::TempPathBeside(options.path);
  {
    auto fd = util::CreateOwnerOnlyExclusive(tmp);  // VACUUM INTO fills an empty file, keeping its mode
    if (!fd.ok()) return fd.status();
    ::close(*fd);
    cleanup.paths.push_back(tmp);
  }
  CONVSTORE_RETURN_IF_ERROR(copy(tmp, report));
  auto facts = FactsOf(tmp);
  if (!facts.ok()) return facts.status();
  manifest.schema_version = facts->schema_version;
  manifest.journal_seq = facts->journal_seq;
  manifest.row_counts = facts->row_counts;
  manifest.cost_nanousd = facts->cost_nanousd;
  auto copied = util::FileSize(tmp);
  if (!copied.ok()) return copied.status();
  auto database_sha = ops::Sha256OfFile(tmp, [&](int64_t done) { report("backup: checksum", done, *copied); });
  if (!database_sha.ok()) return database_sha.status();
  manifest.database_sha256 = *database_sha;
  manifest.sha256 = *database_sha;
  if (*key) {
    const std::string sealed = util::TempPathBeside(options.path);
    cleanup.paths.push_back(sealed);
    CONVSTORE_RETURN_IF_ERROR(
        ops::EncryptFile(tmp, sealed, **key, [&](int64_t done) { report("backup: encrypt", done, *copied); }));
    (void)util::RemoveIfExists(tmp);
    tmp = sealed;
    auto sha = ops::Sha256OfFile(tmp);
    if (!sha.ok()) return sha.status();
    manifest.sha256 = *sha;
    manifest.encrypted = true;
  }
  auto bytes = util::FileSize(tmp);
  if (!bytes.ok()) return bytes.status();
  manifest.bytes = *bytes;
  manifest.convstore_version = CONVSTORE_VERSION_STRING;
  manifest.duration_us = api::MicrosSince(started);
  // The manifest first, then the backup under its name: a crash between leaves a manifest without its backup,
  // which lists and verifies as missing — never a backup without the facts that check it.
  // Neither name existed before, so on a failure both go (a rename whose directory sync failed included).
  cleanup.paths.push_back(manifest_path);
  CONVSTORE_RETURN_IF_ERROR(util::WriteFileAtomically(manifest_path, ops::EncodeManifest(manifest)));
  cleanup.paths.push_back(options.path);
  CONVSTORE_RETURN_IF_ERROR(util::ReplaceFile(tmp, options.path));
  cleanup.paths.clear();
  util::Logger().info("backup of '{}' to '{}': {} bytes, journal at {}, {} ms", source, options.path, manifest.bytes,
                      manifest.journal_seq, manifest.duration_us / 1000);
  return BackupReport{options.path, manifest_path, manifest};
}

Result<BackupReport> StoreImpl::DoBackup(const BackupOptions& options) {
  std::shared_lock life(lifecycle_, std::defer_lock);
  util::LockParked(life);
  CONVSTORE_RETURN_IF_ERROR(CheckUsable());
  return WriteBackup(path_, options, Now(), [&](const std::string& tmp, const ProgressReporter& report) -> Status {
    if (one_connection()) {
      std::unique_lock lock(write_mu_, std::defer_lock);  // the only connection: writers wait for the copy
      util::LockParked(lock);
      // No copy progress: on_progress runs outside the store's locks, and this copy holds the write mutex.
      return CopyInto(*writer_, tmp, ProgressReporter{});
    }
    // Its own connection: the copy reads one snapshot while the writer and the readers go on.
    sqlite::ConnectionConfig config;
    config.open_read_only = options_.read_only;
    config.busy_timeout_ms = options_.busy_timeout_ms;
    auto conn = sqlite::Connection::Open(path_, config);
    if (!conn.ok()) return conn.status();
    return CopyInto(**conn, tmp, report);
  });
}

Result<BackupManifest> VerifiedManifest(const std::string& backup, const std::string& encryption_key_hex) {
  VerifyOptions options;
  options.encryption_key_hex = encryption_key_hex;
  auto check = Verify(backup, options);
  if (!check.ok()) return check.status();
  if (!check->ok)
    return Status::Corruption(
        fmt::format("the backup '{}' does not verify, so it is not restored: {}", backup, Join(check->problems)));
  return check->manifest;
}

Status CopyBackup(const std::string& backup, const BackupManifest& manifest, const std::optional<ops::CipherKey>& key,
                  const std::string& tmp, const ProgressReporter& report) {
  auto copied = [&](int64_t done) { report("restore: copy", done, manifest.bytes); };
  if (manifest.encrypted) {
    if (!key) return Status::InvalidArgument("the backup is encrypted: give its encryption key");
    CONVSTORE_RETURN_IF_ERROR(ops::DecryptFile(backup, tmp, *key, copied));
  } else {
    CONVSTORE_RETURN_IF_ERROR(util::CopyToNewFile(backup, tmp, copied));
  }
  auto sha = ops::Sha256OfFile(tmp);
  if (!sha.ok()) return sha.status();
  if (*sha != manifest.database_sha256)
    return Status::IoError("the copy of the backup differs from it (a disk or memory fault): nothing restored");
  return Status::OK();
}

Status MarkRestored(const std::string& path, std::string details_json) {
  sqlite::ConnectionConfig config;
  auto conn = sqlite::Connection::Open(path, config);
  if (!conn.ok()) return conn.status();
  auto has_journal = ops::HasJournal(**conn);
  if (!has_journal.ok()) return has_journal.status();
  if (!*has_journal) return Status::OK();
  auto txn = sqlite::WriteTransaction::Begin(**conn);
  if (!txn.ok()) return txn.status();
  auto version = (*conn)->QueryInt("SELECT coalesce(max(version), 0) FROM schema_migrations", "read the schema version");
  if (!version.ok()) return version.status();
  auto has_audit = (*conn)->QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'audit_log'",
                                     "restore: look for the audit log");
  if (!has_audit.ok()) return has_audit.status();
  if (has_audit->value_or(0) != 0) {  // a store of schema 7 or later: the restore is in its audit log
    ops::AuditRecord r;
    r.actor = "restore";
    r.action = "store.restored";
    r.resource_type = "store";
    r.details = std::move(details_json);
    auto entry = ops::AppendAudit(**conn, r, Env::Default()->NowMicros());
    if (!entry.ok()) return entry.status();
  }
  CONVSTORE_RETURN_IF_ERROR(ops::AppendEntry(**conn, JournalEntryKind::kRestored, Env::Default()->NowMicros(),
                                             static_cast<int>(version->value_or(0)), {}));
  return txn->Commit();
}

Status SealStoreFile(const std::string& path) {
  {
    sqlite::ConnectionConfig config;
    auto conn = sqlite::Connection::Open(path, config);
    if (!conn.ok()) return conn.status();
    std::string mode;
    auto done = (*conn)->ForEachRow("PRAGMA journal_mode=DELETE", "restore: fold the WAL into the file",
                                    [&](const sqlite::Stmt& st) {
                                      mode = st.Text(0);
                                      return false;
                                    });
    if (!done.ok()) return done.status();
    if (mode != "delete")
      return Status::IoError(fmt::format("restore: the WAL of '{}' could not be folded into it (journal mode {})",
                                         path, mode));
  }
  for (const char* side : {"-wal", "-journal"})  // a journal left means the last write did not complete
    if (util::FileSize(path + side).ok())
      return Status::IoError(fmt::format("restore: '{}{}' is still there after folding it into the file", path, side));
  CONVSTORE_RETURN_IF_ERROR(util::RemoveIfExists(path + "-shm"));
  return util::SyncFile(path);
}

}  // namespace api

Result<BackupCheck> VerifyBackup(const std::string& backup_path, const VerifyOptions& options) {
  return api::GuardedFree([&] { return Verify(backup_path, options); });
}

Result<StoreCheck> CheckStore(const std::string& path) {
  return api::GuardedFree([&]() -> Result<StoreCheck> {
    CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(path, "store path"));
    CONVSTORE_RETURN_IF_ERROR(api::CheckReadable(path));
    CONVSTORE_RETURN_IF_ERROR(api::CheckNotHeldExclusive(path));
    StoreCheck check;
    check.schema_version = CheckDatabase(path, nullptr, &check.problems);
    check.ok = check.problems.empty();
    return check;
  });
}

Result<RestoreReport> RestoreBackup(const std::string& backup_path, const std::string& target_path,
                                    const RestoreOptions& options) {
  return api::GuardedFree([&]() -> Result<RestoreReport> {
    CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(target_path, "target path"));
    auto key = api::KeyOf(options.encryption_key_hex);
    if (!key.ok()) return key.status();
    CONVSTORE_RETURN_IF_ERROR(api::CheckWritable(target_path));
    const auto started = api::SteadyClock::now();
    const api::ProgressReporter report{&options.on_progress};
    auto manifest = api::VerifiedManifest(backup_path, options.encryption_key_hex);
    if (!manifest.ok()) return manifest.status();
    CONVSTORE_RETURN_IF_ERROR(api::CheckNotInUse(target_path));
    api::RemoveOnFailure cleanup;
    const std::string tmp = util::TempPathBeside(target_path);
    cleanup.paths.push_back(tmp);
    CONVSTORE_RETURN_IF_ERROR(api::CopyBackup(backup_path, *manifest, *key, tmp, report));
    CONVSTORE_RETURN_IF_ERROR(api::MarkRestored(
        tmp, util::JsonWriter().BeginObject().Key("from").String("backup").Key("journal_seq")
                 .Int(manifest->journal_seq).Key("taken_at").String(util::FormatIso8601(manifest->created_at))
                 .EndObject().Take()));
    CONVSTORE_RETURN_IF_ERROR(api::SealStoreFile(tmp));
    CONVSTORE_RETURN_IF_ERROR(api::PutInPlace(tmp, target_path));  // checks again that nobody has it open
    cleanup.paths.clear();
    util::Logger().info("restored '{}' from '{}' (journal at {})", target_path, backup_path, manifest->journal_seq);
    return RestoreReport{target_path, *manifest, api::MicrosSince(started)};
  });
}

}  // namespace convstore
