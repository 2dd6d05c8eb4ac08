// Files written so that a crash (kill -9, power loss) at any moment leaves either the old file or the complete new
// one: a temporary file beside the target, created 0600, written, fsync'ed, renamed over the target, and the
// directory fsync'ed so the rename itself is durable.
//
// Stateless functions; thread-safe. Paths are plain file paths.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "convstore/status.h"

namespace convstore::util {

// "DIR/.NAME.tmp-PID-RANDOM": a name beside `target` (same directory, so a rename cannot cross file systems) that
// no other writer picks, hidden from listings of NAME*.
std::string TempPathBeside(const std::string& target);

// Creates `path` for writing with mode 0600 (whatever the umask); fails if it exists. Returns the descriptor.
Result<int> CreateOwnerOnlyExclusive(const std::string& path);

// A failed system call's errno as a Status: kNotFound for ENOENT, kReadOnly for permissions and read-only file
// systems, kIoError otherwise; the message is "<what>: <strerror>".
Status StatusFromErrno(const std::string& what, int e);

// fsync of an open descriptor / of a file by name / of a directory / of the directory holding `path` (so a rename
// or an unlink in it survives a power loss).
Status SyncDescriptor(int fd, const std::string& what);
Status SyncFile(const std::string& path);
Status SyncDirectory(const std::string& dir);
Status SyncDirectoryOf(const std::string& path);

// Renames `from` over `to` (atomic on POSIX file systems), then syncs the directory.
Status ReplaceFile(const std::string& from, const std::string& to);

// Writes all of `bytes` to `fd` (retrying short writes and EINTR); the error names `path`.
Status WriteAll(int fd, std::string_view bytes, const std::string& path);

// A file written in pieces that appears whole or not at all: created 0600 under a temporary name beside `path`,
// then synced and renamed into place by Commit. Destroyed uncommitted, it removes the temporary file. With
// `exclusive` the target must be new: Open and Commit refuse an existing one (kConflict), and a Commit that renamed
// but could not sync the directory removes the file again, so a failure leaves nothing. Not thread-safe.
class AtomicFileWriter {
 public:
  AtomicFileWriter(std::string path, bool exclusive);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  Status Open();
  Status Write(std::string_view bytes);
  Status Commit();

 private:
  std::string path_;
  std::string tmp_;
  bool exclusive_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes `bytes` to `path` through an AtomicFileWriter (replacing what is there): readers see the old file or all
// of the new one.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// Copies `from` into a new file `to` (created 0600, exclusive; fsync'ed; removed on failure), calling
// progress(bytes_done) after each 1 MiB (may be empty).
Status CopyToNewFile(const std::string& from, const std::string& to, const std::function<void(int64_t)>& progress);

// The whole file; kNotFound when it does not exist, kTooLarge beyond `max_bytes`.
Result<std::string> ReadWholeFile(const std::string& path, int64_t max_bytes);

// Size in bytes; kNotFound when missing.
Result<int64_t> FileSize(const std::string& path);

// write(2), or the failure a test's fault hook injects (util/io_faults.h).
ssize_t WriteSome(int fd, const void* data, size_t size);

// Removes the file if it exists (its directory is not synced).
Status RemoveIfExists(const std::string& path);

// The directory part of a path ("." for a bare name).
std::string DirectoryOf(const std::string& path);

}  // namespace convstore::util
