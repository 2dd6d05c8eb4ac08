#include "api/migration_guard.h"

#include <unistd.h>

#include <fmt/format.h>

#include "api/file_operations.h"
#include "convstore/env.h"
#include "schema/migrations.h"
#include "util/durable_file.h"
#include "util/fork.h"
#include "util/logging.h"
#include "util/time.h"

namespace convstore::api {

namespace {

void Report(const Options& options, const std::string& operation, int64_t done, int64_t total) {
  if (!options.on_progress) return;
  util::ParkedScope in_user_code;  // a fork need not wait for the callback (util/fork.h)
  options.on_progress(Progress{operation, done, total});
}

// "20261201T070000Z": the UTC second, for a file name.
std::string CompactStamp(int64_t now_us) {
  std::string iso = util::FormatIso8601(now_us);  // 2026-12-01T07:00:00.123456Z
  std::string out;
  for (char c : iso.substr(0, 19))
    if (c != '-' && c != ':') out += c;
  return out + "Z";
}

// Room for the store's name in a backup's: NAME_MAX less what the longest file a backup writes adds to it (the
// manifest's temporary file: "." + ".manifest.json" + ".tmp-<pid>-<16 hex>"), ".before-schema-N-<stamp>", "-NN"
// and ".db".
constexpr size_t kBackupNameRoom = 255 - 14 - 30 - 33 - 3 - 3;

Result<std::string> BackupPathFor(const std::string& path, const Options& options, int to, int64_t now_us) {
  const size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.size() > kBackupNameRoom) {  // a long store name is shortened, at a UTF-8 character boundary
    name.resize(kBackupNameRoom);
    while (!name.empty() && (static_cast<unsigned char>(name.back()) & 0xC0) == 0x80) name.pop_back();
    if (!name.empty() && (static_cast<unsigned char>(name.back()) & 0x80) != 0) name.pop_back();
  }
  std::string dir = options.migration_backup_directory;
  if (dir.empty()) dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string stem = fmt::format("{}/{}.before-schema-{}-{}", dir, name, to, CompactStamp(now_us));
  for (int n = 1; n < 100; ++n) {
    std::string candidate = n == 1 ? stem + ".db" : fmt::format("{}-{}.db", stem, n);
    if (!util::FileSize(candidate).ok() && !util::FileSize(candidate + ".manifest.json").ok()) return candidate;
  }
  return Status::Conflict(fmt::format("too many backups named '{}*' already", stem));
}

}  // namespace

// "-migrate" is as long as SQLite's "-journal", so every store name that is accepted has room for it.
std::string MigrationMarkerPath(const std::string& path) { return path + "-migrate"; }

std::string MigrationInProgress(const std::string& path) {
  return util::MarkerFile::HolderOf(MigrationMarkerPath(path)).value_or("");
}

void DiscardBackup(const PreparedMigration& prepared) {
  if (prepared.backup.empty()) return;
  (void)util::RemoveIfExists(prepared.backup);
  (void)util::RemoveIfExists(prepared.backup + ".manifest.json");
  util::Logger().info("removed '{}': the migration it was taken for failed, so the file is as it was",
                      prepared.backup);
}

Result<PreparedMigration> PrepareMigration(sqlite::Connection& writer, const std::string& path,
                                           const Options& options) {
  Env* env = options.env ? options.env : Env::Default();
  const auto& migrations = schema::BuiltinMigrations();
  auto plan = schema::PlanMigration(writer, migrations);
  if (!plan.ok()) return plan.status();
  if (plan->from == plan->to) return PreparedMigration{};

  const std::string description = fmt::format(
      "process {} is migrating '{}' from schema version {} to {} (started {})", ::getpid(), path, plan->from,
      plan->to, util::FormatIso8601(env->NowMicros()));
  auto marker = [&] {
    util::ParkedScope waiting;  // however long the other migration takes, a fork need not wait for this thread
    return util::MarkerFile::Acquire(MigrationMarkerPath(path), description, [&](const std::string& holder) {
      util::Logger().warn("waiting to open '{}': {}", path, holder);
      Report(options, "waiting for another process's schema migration: " + holder, 0, 0);
    });
  }();
  if (!marker.ok()) return marker.status();
  plan = schema::PlanMigration(writer, migrations);  // again: the process waited for may have migrated it
  if (!plan.ok()) return plan.status();
  PreparedMigration prepared;
  prepared.marker = std::move(*marker);
  if (plan->from == plan->to || !plan->rewrites_data || !options.backup_before_migration) return prepared;

  const int64_t now_us = env->NowMicros();  // after any wait
  auto backup_path = BackupPathFor(path, options, plan->to, now_us);
  if (!backup_path.ok()) return backup_path.status();
  auto refused = [&](const Status& why) {
    // The store is fine: what failed is the copy (kInvalidArgument for a name it cannot have, else an I/O error).
    return Status(why.code() == Code::kInvalidArgument ? Code::kInvalidArgument : Code::kIoError,
                  fmt::format("'{}' was not migrated from schema version {} to {}: the verified backup before the "
                              "migration failed ({}); make room for it, point migration_backup_directory elsewhere, "
                              "or open with backup_before_migration off",
                              path, plan->from, plan->to, why.message()));
  };
  BackupOptions backup;
  backup.path = *backup_path;
  std::function<void(const Progress&)> relay;
  if (options.on_progress)
    relay = [&options](const Progress& p) { Report(options, "before schema migration, " + p.operation, p.done, p.total); };
  backup.on_progress = relay;
  auto written = WriteBackup(path, backup, now_us, [&](const std::string& tmp, const ProgressReporter& report) {
    return CopyInto(writer, tmp, report);
  });
  if (!written.ok()) return refused(written.status());
  auto verified = VerifiedManifest(written->path, "");
  if (!verified.ok()) {
    (void)util::RemoveIfExists(written->path);
    (void)util::RemoveIfExists(written->manifest_path);
    return refused(verified.status());
  }
  util::Logger().info("'{}' needs schema migrations {}..{} that rewrite data: a verified backup of it is at '{}'", path,
                      plan->from + 1, plan->to, written->path);
  prepared.backup = written->path;
  return prepared;
}

}  // namespace convstore::api
