#include "api/file_operations.h"

#include <fmt/format.h>

#include "api/file_path.h"
#include "api/open_files.h"
#include "convstore/store.h"
#include "sqlite/connection.h"
#include "util/durable_file.h"
#include "util/status_macros.h"

namespace convstore::api {

int64_t MicrosSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count();
}

Status CheckFileArgument(const std::string& path, const char* what) {
  if (path.empty()) return Status::InvalidArgument(fmt::format("{} is empty", what));
  if (path.find('\0') != std::string::npos) return Status::InvalidArgument(fmt::format("{} contains a NUL byte", what));
  if (path == ConversationStore::kInMemory)
    return Status::InvalidArgument(fmt::format("{} must be a file, not {}", what, ConversationStore::kInMemory));
  return CheckPathName(path);
}

Result<std::optional<ops::CipherKey>> KeyOf(const std::string& hex) {
  if (hex.empty()) return std::optional<ops::CipherKey>();
  auto key = ops::ParseCipherKey(hex);
  if (!key.ok()) return key.status();
  return std::optional<ops::CipherKey>(*key);
}

void ProgressReporter::operator()(const char* phase, int64_t done, int64_t total) const {
  if (fn == nullptr || !*fn) return;
  try {
    util::ParkedScope in_user_code;  // a fork need not wait for the callback (util/fork.h)
    (*fn)(Progress{phase, done, total});
  } catch (...) {
  }
}

RemoveOnFailure::~RemoveOnFailure() {
  for (const auto& p : paths)
    for (const char* side : {"", "-journal", "-wal", "-shm"}) (void)util::RemoveIfExists(p + side);
}

Status PutInPlace(const std::string& tmp, const std::string& target) {
  CONVSTORE_RETURN_IF_ERROR(CheckNotInUse(target));
  if (util::FileSize(target).ok()) {
    // Fold the old store's WAL into it and empty it first: a WAL left beside the new file would be replayed into
    // it, and a WAL removed before the rename would lose the old store's last commits if we crashed then.
    sqlite::ConnectionConfig config;
    auto old = sqlite::Connection::Open(target, config);
    if (!old.ok()) return old.status();
    auto busy = (*old)->QueryInt("PRAGMA wal_checkpoint(TRUNCATE)", "restore: checkpoint the old store");
    if (!busy.ok()) return busy.status();
    if (busy->value_or(0) != 0) return Status::Busy("the old store's WAL could not be checkpointed: is it in use?");
  }
  for (const char* suffix : {"-wal", "-shm"}) CONVSTORE_RETURN_IF_ERROR(util::RemoveIfExists(target + suffix));
  CONVSTORE_RETURN_IF_ERROR(util::SyncDirectoryOf(target));
  Status s = util::ReplaceFile(tmp, target);
  // A failure after the rename (syncing the directory) leaves the new store in place: reported as what it is.
  if (!s.ok() && !util::FileSize(tmp).ok())
    return Status(s.code(), fmt::format("the restored store is in place at '{}', but its directory could not be "
                                        "synced, so a power loss now could bring back the old one: {}",
                                        target, s.message()));
  return s;
}

}  // namespace convstore::api
