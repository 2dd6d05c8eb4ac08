#include "api/file_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include <fmt/format.h>

namespace convstore::api {

namespace {

constexpr size_t kLongestSuffix = 8;       // "-journal" (also "-wal", "-shm")
constexpr size_t kSqliteMaxPathname = 512;  // the unix VFS's mxPathname

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

bool Exists(const std::string& path) {
  struct stat sb;
  return ::stat(path.c_str(), &sb) == 0;
}

}  // namespace

Status CheckPathName(const std::string& path) {
  const std::string base = BaseOf(path);
  if (base.empty()) return Status::InvalidArgument(fmt::format("path '{}' names a directory, not a file", path));
  long name_max = ::pathconf(DirectoryOf(path).c_str(), _PC_NAME_MAX);
  if (name_max <= 0) name_max = NAME_MAX;
  if (base.size() + kLongestSuffix > static_cast<size_t>(name_max))
    return Status::InvalidArgument(fmt::format(
        "file name is {} bytes; SQLite adds \"-journal\" to it, so it must be at most {} bytes on this file system",
        base.size(), static_cast<size_t>(name_max) - kLongestSuffix));
  const std::string absolute = Absolute(path);
  if (absolute.size() + kLongestSuffix >= kSqliteMaxPathname)
    return Status::InvalidArgument(fmt::format(
        "path is {} bytes as an absolute path; SQLite accepts at most {} with its \"-journal\" suffix",
        absolute.size(), kSqliteMaxPathname - kLongestSuffix - 1));
  return Status::OK();
}

Status CheckWritable(const std::string& path) {
  if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0) {
    const int e = errno;
    return Status::ReadOnly(fmt::format("'{}' is not writable ({}): open it with read_only to read it", path,
                                        std::strerror(e)));
  }
  const std::string dir = DirectoryOf(path);
  if (::access(dir.c_str(), F_OK) != 0) {
    const int e = errno;
    return Status::IoError(fmt::format("cannot create '{}' in directory '{}': {}", path, dir, std::strerror(e)));
  }
  if (!DirectoryWritable(path)) {
    const int e = errno;
    return Status::ReadOnly(fmt::format(
        "directory '{}' is not writable ({}): SQLite creates '{}-wal' and '{}-shm' beside the database; open it "
        "with read_only to read it",
        dir, std::strerror(e), BaseOf(path), BaseOf(path)));
  }
  return Status::OK();
}

Status CheckReadable(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) {
    const int e = errno;
    if (e == ENOENT) return Status::NotFound(fmt::format("'{}' does not exist (a read-only open never creates it)", path));
    return Status::IoError(fmt::format("cannot reach '{}': {}", path, std::strerror(e)));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    const int e = errno;
    return Status::ReadOnly(fmt::format("'{}' is not readable: {}", path, std::strerror(e)));
  }
  return Status::OK();
}

Status CreateOwnerOnly(const std::string& path, bool create_if_missing, CreatedFile* created) {
  *created = CreatedFile{};
  if (Exists(path)) return Status::OK();
  if (!create_if_missing) return Status::NotFound(fmt::format("'{}' does not exist (create_if_missing is off)", path));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    return Status::IoError(fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  if (fd >= 0) {
    struct stat sb;
    if (::fstat(fd, &sb) == 0) *created = CreatedFile{true, static_cast<uint64_t>(sb.st_dev), static_cast<uint64_t>(sb.st_ino)};
    ::close(fd);
  }
  return Status::OK();
}

void RemoveCreated(const std::string& path, const CreatedFile& created) noexcept {
  try {
    if (!created.created) return;
    // A side file means SQLite (maybe in another process that opened the new file too) is using it.
    for (const char* suffix : {"-journal", "-wal", "-shm"})
      if (Exists(path + suffix)) return;
    struct stat sb;
    if (::stat(path.c_str(), &sb) == 0 && static_cast<uint64_t>(sb.st_dev) == created.device &&
        static_cast<uint64_t>(sb.st_ino) == created.inode)
      ::unlink(path.c_str());
  } catch (...) {
  }
}

bool DirectoryWritable(const std::string& path) noexcept {
  try {
    return ::access(DirectoryOf(path).c_str(), W_OK | X_OK) == 0;
  } catch (...) {
    return false;
  }
}

}  // namespace convstore::api
