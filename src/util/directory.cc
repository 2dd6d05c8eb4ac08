#include "util/directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "util/durable_file.h"
#include "util/io_faults.h"

namespace convstore::util {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status CreateDirectory(const std::string& path) {
  const int injected = InjectedIoFault(IoOp::kCreate);
  if (injected != 0) errno = injected;
  if (injected != 0 || ::mkdir(path.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      if (IsDirectory(path)) return Status::OK();
      return Status::Conflict(fmt::format("'{}' exists and is not a directory", path));
    }
    return StatusFromErrno(fmt::format("cannot create directory '{}'", path), errno);
  }
  return SyncDirectoryOf(path);
}

Result<std::vector<std::string>> ListDirectory(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return StatusFromErrno(fmt::format("cannot list '{}'", path), errno);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  if (errno != 0) return StatusFromErrno(fmt::format("cannot list '{}'", path), errno);
  std::sort(names.begin(), names.end());
  return names;
}

Status RemoveDirectory(const std::string& path) {
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT)
    return StatusFromErrno(fmt::format("cannot remove directory '{}'", path), errno);
  return SyncDirectoryOf(path);
}

Result<std::string> AbsolutePath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return StatusFromErrno(fmt::format("cannot resolve '{}'", path), errno);
  return std::string(buf);
}

Result<FileSystemSpace> SpaceOf(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0)
    return StatusFromErrno(fmt::format("cannot read the free space of '{}'", path), errno);
  FileSystemSpace space;
  space.free_bytes = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
  space.total_bytes = static_cast<int64_t>(st.f_blocks) * static_cast<int64_t>(st.f_frsize);
  return space;
}

Result<DirectoryLock> DirectoryLock::TryAcquire(const std::string& lock_path) {
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return StatusFromErrno(fmt::format("cannot open the lock file '{}'", lock_path), errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return Status::Busy(fmt::format("'{}' is locked by another process", lock_path));
    return StatusFromErrno(fmt::format("cannot lock '{}'", lock_path), e);
  }
  return DirectoryLock(fd);
}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace convstore::util
