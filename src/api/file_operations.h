// What the operations on whole store files (backup, verify, restore, the archive, point-in-time restore) share:
// checking a file argument, parsing a key, reporting progress, removing a failed operation's files, running a free
// function under the same guard as the store's entry points, and putting a finished store file in place.
//
// Stateless helpers; thread-safe. Progress and RemoveOnFailure objects belong to one operation on one thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "convstore/ops.h"
#include "convstore/options.h"
#include "convstore/status.h"
#include "ops/file_cipher.h"
#include "sqlite/connection.h"
#include "util/fork.h"

namespace convstore::api {

using SteadyClock = std::chrono::steady_clock;
int64_t MicrosSince(SteadyClock::time_point start);

// A path argument naming a file: not empty, no NUL, not ":memory:", a name SQLite can use.
Status CheckFileArgument(const std::string& path, const char* what);

// "" -> no key; 64 hex characters -> the key; anything else kInvalidArgument.
Result<std::optional<ops::CipherKey>> KeyOf(const std::string& hex);

// Reports progress of one phase; a callback that throws is ignored (the operation goes on).
struct ProgressReporter {
  const std::function<void(const Progress&)>* fn = nullptr;  // not owned; null or empty: no reports
  void operator()(const char* phase, int64_t done, int64_t total) const;
};

// Removes the files of a failed operation when destroyed (best effort: the failure is what the caller hears);
// clear `paths` once the operation succeeded.
struct RemoveOnFailure {
  std::vector<std::string> paths;
  ~RemoveOnFailure();
};

// VACUUM INTO the new, empty file `tmp` from `conn`'s snapshot (synced), with progress from the output's size.
Status CopyInto(sqlite::Connection& conn, const std::string& tmp, const ProgressReporter& report);

// A backup of the store file `source` at options.path with its manifest beside it: checks the arguments (the
// backup and its manifest never overwrite), has `copy` fill an empty 0600 temporary file beside the backup, reads
// the copy's facts, checksums (and encrypts) it, writes the manifest, then renames the copy into place. Nothing
// is left behind on failure.
Result<BackupReport> WriteBackup(const std::string& source, const BackupOptions& options, int64_t now_us,
                                 const std::function<Status(const std::string& tmp, const ProgressReporter& report)>& copy);

// The steps every restore shares. The backup verified without trusting it: its manifest, or kCorruption naming its
// problems when it does not verify.
Result<BackupManifest> VerifiedManifest(const std::string& backup, const std::string& encryption_key_hex);
// The verified backup copied (decrypted) into the new file `tmp`, the copy checked against the manifest.
Status CopyBackup(const std::string& backup, const BackupManifest& manifest, const std::optional<ops::CipherKey>& key,
                  const std::string& tmp, const ProgressReporter& report);
// A kRestored marker appended to the journal of the store file at `path` (when it has one): its history starts again.
// A store with an audit log also gets a "store.restored" entry with `details_json`, in the same transaction.
Status MarkRestored(const std::string& path, std::string details_json);

// Makes the finished store file `path` whole by itself before it is renamed into place: its WAL folded into it
// and removed (rollback-journal mode; a store switches back to WAL when opened), no -shm, the file synced.
// Anything that cannot be done is an error, never a WAL left behind under the temporary name.
Status SealStoreFile(const std::string& path);

// Puts the finished, synced store file `tmp` in place of `target` (which may not exist): refuses (kBusy) while any
// process has the target open, folds the old store's WAL into it and empties it, removes its -wal and -shm, then
// renames. After a crash at any moment the target is the old store or the new one, never a mix. When only the
// final directory sync fails, the error says that the new store is in place.
Status PutInPlace(const std::string& tmp, const std::string& target);

// Runs a free function of the public API as Guarded runs the store's entry points: inside a fork CallScope, with
// any exception turned into a Status.
template <typename F>
auto GuardedFree(F&& f) noexcept -> decltype(f()) {
  util::CallScope in_call;
  try {
    return f();
  } catch (const std::exception& e) {
    try {
      return Status::Internal(std::string("unexpected error: ") + e.what());
    } catch (...) {
    }
  } catch (...) {
  }
  return Status(Code::kInternal, "out of memory");
}

}  // namespace convstore::api
