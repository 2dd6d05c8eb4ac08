// Directories for the archive: created owner-only and durably, listed, removed; and an exclusive lock file that
// keeps two processes from writing one directory at once.
//
// Stateless functions; thread-safe. A DirectoryLock is owned by one object and released when it is destroyed
// (or when the process dies: the kernel drops flock locks with the descriptor).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "convstore/status.h"

namespace convstore::util {

// Creates `path` with mode 0700 when it does not exist (its parent must), and syncs the parent so the entry
// survives a power loss. kConflict when `path` exists and is not a directory.
Status CreateDirectory(const std::string& path);

// Whether `path` is an existing directory.
bool IsDirectory(const std::string& path);

// The names in `path` (without "." and ".."), sorted. kNotFound when it does not exist.
Result<std::vector<std::string>> ListDirectory(const std::string& path);

// Removes an empty directory (kIoError when it is not empty) and syncs its parent.
Status RemoveDirectory(const std::string& path);

// The absolute form of an existing path (symbolic links resolved).
Result<std::string> AbsolutePath(const std::string& path);

// Space on the file system holding `path`: bytes free for an unprivileged user, and its size (statvfs).
struct FileSystemSpace {
  int64_t free_bytes = 0;
  int64_t total_bytes = 0;
};
Result<FileSystemSpace> SpaceOf(const std::string& path);

class DirectoryLock {
 public:
  // Creates (0600) and locks `lock_path` without waiting: kBusy when another holder has it.
  static Result<DirectoryLock> TryAcquire(const std::string& lock_path);
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace convstore::util
