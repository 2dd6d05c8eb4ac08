#include "util/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "util/io_faults.h"
#include "util/status_macros.h"

namespace convstore::util {

namespace {

std::string BaseOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Status StatusFromErrno(const std::string& what, int e) {
  if (e == ENOENT) return Status::NotFound(fmt::format("{}: {}", what, std::strerror(e)));
  if (e == EACCES || e == EPERM || e == EROFS) return Status::ReadOnly(fmt::format("{}: {}", what, std::strerror(e)));
  return Status::IoError(fmt::format("{}: {}", what, std::strerror(e)));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

ssize_t WriteSome(int fd, const void* data, size_t size) {
  if (const int injected = InjectedIoFault(IoOp::kWrite); injected != 0) {
    errno = injected;
    return -1;
  }
  return ::write(fd, data, size);
}

std::string TempPathBeside(const std::string& target) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string dir = DirectoryOf(target);
  return fmt::format("{}/.{}.tmp-{}-{:016x}", dir, BaseOf(target), static_cast<long>(::getpid()), rng());
}

Result<int> CreateOwnerOnlyExclusive(const std::string& path) {
  const int injected = InjectedIoFault(IoOp::kCreate);
  if (injected != 0) errno = injected;
  const int fd = injected != 0 ? -1 : ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Conflict(fmt::format("'{}' already exists", path));
    return StatusFromErrno(fmt::format("cannot create '{}'", path), errno);
  }
  if (::fchmod(fd, 0600) != 0) {  // O_CREAT's mode is masked by the umask only downwards; be explicit anyway
    const int e = errno;
    ::close(fd);
    return StatusFromErrno(fmt::format("cannot set the mode of '{}'", path), e);
  }
  return fd;
}

Status SyncDescriptor(int fd, const std::string& what) {
  if (const int injected = InjectedIoFault(IoOp::kSync); injected != 0)
    return StatusFromErrno(fmt::format("cannot sync {}", what), injected);
  if (::fsync(fd) != 0) return StatusFromErrno(fmt::format("cannot sync {}", what), errno);
  return Status::OK();
}

Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(fmt::format("cannot open '{}' to sync it", path), errno);
  Status s = SyncDescriptor(fd, fmt::format("'{}'", path));
  ::close(fd);
  return s;
}

Status SyncDirectoryOf(const std::string& path) { return SyncDirectory(DirectoryOf(path)); }

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(fmt::format("cannot open directory '{}' to sync it", dir), errno);
  Status s = SyncDescriptor(fd, fmt::format("directory '{}'", dir));
  ::close(fd);
  return s;
}

Status ReplaceFile(const std::string& from, const std::string& to) {
  if (const int injected = InjectedIoFault(IoOp::kRename); injected != 0)
    return StatusFromErrno(fmt::format("cannot rename '{}' to '{}'", from, to), injected);
  if (::rename(from.c_str(), to.c_str()) != 0)
    return StatusFromErrno(fmt::format("cannot rename '{}' to '{}'", from, to), errno);
  return SyncDirectoryOf(to);
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = WriteSome(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return StatusFromErrno(fmt::format("cannot write '{}'", path), errno);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

AtomicFileWriter::AtomicFileWriter(std::string path, bool exclusive)
    : path_(std::move(path)), tmp_(TempPathBeside(path_)), exclusive_(exclusive) {}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

Status AtomicFileWriter::Open() {
  if (exclusive_ && ::access(path_.c_str(), F_OK) == 0)
    return Status::Conflict(fmt::format("'{}' exists: it is never overwritten", path_));
  auto fd = CreateOwnerOnlyExclusive(tmp_);
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  return Status::OK();
}

Status AtomicFileWriter::Write(std::string_view bytes) { return WriteAll(fd_, bytes, tmp_); }

Status AtomicFileWriter::Commit() {
  Status s = SyncDescriptor(fd_, fmt::format("'{}'", tmp_));
  if (::close(fd_) != 0 && s.ok()) s = StatusFromErrno(fmt::format("cannot close '{}'", tmp_), errno);
  fd_ = -1;
  if (!s.ok()) return s;
  if (exclusive_ && ::access(path_.c_str(), F_OK) == 0)
    return Status::Conflict(fmt::format("'{}' appeared meanwhile: it is never overwritten", path_));
  s = ReplaceFile(tmp_, path_);
  if (!s.ok()) {
    // Renamed, but the directory could not be synced: a new file that failed is not left behind.
    if (exclusive_ && ::access(tmp_.c_str(), F_OK) != 0) ::unlink(path_.c_str());
    return s;
  }
  committed_ = true;
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  AtomicFileWriter file(path, /*exclusive=*/false);
  CONVSTORE_RETURN_IF_ERROR(file.Open());
  CONVSTORE_RETURN_IF_ERROR(file.Write(bytes));
  return file.Commit();
}

Status CopyToNewFile(const std::string& from, const std::string& to, const std::function<void(int64_t)>& progress) {
  const int src = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return StatusFromErrno(fmt::format("cannot open '{}'", from), errno);
  auto dst = CreateOwnerOnlyExclusive(to);
  if (!dst.ok()) {
    ::close(src);
    return dst.status();
  }
  std::string buf(size_t{1} << 20, '\0');
  int64_t done = 0;
  Status s;
  while (s.ok()) {
    const ssize_t n = ::read(src, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = StatusFromErrno(fmt::format("cannot read '{}'", from), errno);
      break;
    }
    if (n == 0) break;
    s = WriteAll(*dst, std::string_view(buf.data(), static_cast<size_t>(n)), to);
    done += n;
    if (s.ok() && progress) progress(done);
  }
  if (s.ok()) s = SyncDescriptor(*dst, fmt::format("'{}'", to));
  ::close(src);
  if (::close(*dst) != 0 && s.ok()) s = StatusFromErrno(fmt::format("cannot close '{}'", to), errno);
  if (!s.ok()) ::unlink(to.c_str());
  return s;
}

Result<std::string> ReadWholeFile(const std::string& path, int64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(fmt::format("cannot open '{}'", path), errno);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return StatusFromErrno(fmt::format("cannot read '{}'", path), e);
    }
    if (n == 0) break;
    if (static_cast<int64_t>(out.size()) + n > max_bytes) {
      ::close(fd);
      return Status::TooLarge(fmt::format("'{}' is larger than {} bytes", path, max_bytes));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<int64_t> FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return StatusFromErrno(fmt::format("cannot stat '{}'", path), errno);
  return static_cast<int64_t>(st.st_size);
}

Status RemoveIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return StatusFromErrno(fmt::format("cannot remove '{}'", path), errno);
  return Status::OK();
}

}  // namespace convstore::util
