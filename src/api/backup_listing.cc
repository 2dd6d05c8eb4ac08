// Listing and pruning the backups kept in a directory, and an archive's retention on demand (`convstore backups`).
#include <algorithm>

#include <fmt/format.h>

#include "api/file_operations.h"
#include "convstore/env.h"
#include "ops/archive_dir.h"
#include "ops/backup_files.h"
#include "util/directory.h"
#include "util/durable_file.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore {

namespace {

constexpr std::string_view kManifestSuffix = ".manifest.json";

Result<std::vector<ListedBackup>> List(const std::string& directory) {
  CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(directory, "backup directory"));
  auto names = util::ListDirectory(directory);
  if (!names.ok()) return names.status();
  std::vector<ListedBackup> out;
  for (const auto& name : *names) {
    if (name.size() <= kManifestSuffix.size() || name[0] == '.' ||
        name.compare(name.size() - kManifestSuffix.size(), kManifestSuffix.size(), kManifestSuffix) != 0)
      continue;
    const std::string backup = directory + "/" + name.substr(0, name.size() - kManifestSuffix.size());
    auto text = util::ReadWholeFile(backup + std::string(kManifestSuffix), 1 << 20);
    if (!text.ok()) continue;  // removed meanwhile, or unreadable: not a backup to list
    auto manifest = ops::DecodeManifest(*text);
    if (!manifest.ok()) continue;
    out.push_back({backup, util::FileSize(backup).ok(), std::move(*manifest)});
  }
  std::sort(out.begin(), out.end(), [](const ListedBackup& a, const ListedBackup& b) {
    return a.manifest.created_at < b.manifest.created_at;
  });
  return out;
}

}  // namespace

Result<std::vector<ListedBackup>> ListBackups(const std::string& directory) {
  return api::GuardedFree([&] { return List(directory); });
}

Result<int64_t> PruneBackups(const std::string& directory, int64_t keep_us) {
  return api::GuardedFree([&]() -> Result<int64_t> {
    CONVSTORE_RETURN_IF_ERROR(util::CheckRange(keep_us, 1, INT64_MAX, "keep_us"));
    auto backups = List(directory);
    if (!backups.ok()) return backups.status();
    const Micros horizon = Env::Default()->NowMicros() - keep_us;
    // The newest backup that is there always stays.
    size_t newest = backups->size();
    for (size_t i = 0; i < backups->size(); ++i)
      if ((*backups)[i].present) newest = i;
    int64_t removed = 0;
    for (size_t i = 0; i < backups->size(); ++i) {
      const ListedBackup& b = (*backups)[i];
      if (i == newest || b.manifest.created_at >= horizon) continue;  // a recent lone manifest may be a backup in progress
      // The backup first: a crash between leaves a manifest without its backup, which lists as missing.
      CONVSTORE_RETURN_IF_ERROR(util::RemoveIfExists(b.path));
      CONVSTORE_RETURN_IF_ERROR(util::RemoveIfExists(ops::ManifestPathOf(b.path)));
      CONVSTORE_RETURN_IF_ERROR(util::SyncDirectoryOf(b.path));
      ++removed;
    }
    return removed;
  });
}

Result<int64_t> PruneArchive(const std::string& directory, int64_t keep_us) {
  return api::GuardedFree([&]() -> Result<int64_t> {
    CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(directory, "archive directory"));
    CONVSTORE_RETURN_IF_ERROR(util::CheckRange(keep_us, 1, INT64_MAX, "keep_us"));
    auto facts = ops::ReadArchiveFacts(directory);
    if (!facts.ok()) return facts.status();
    auto lock = ops::LockArchive(directory);
    if (!lock.ok()) return lock.status();
    return ops::PruneArchive(directory, Env::Default()->NowMicros() - keep_us);
  });
}

}  // namespace convstore
