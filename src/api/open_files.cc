#include "api/open_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace convstore::api {

namespace {

std::mutex& RegistryMutex() {
  static std::mutex* mu = new std::mutex;  // never destroyed: stores may close during static destruction
  return *mu;
}

// The handles this process has open on a file, and how many of them are exclusive (0 or, alone, 1).
struct Holders {
  int handles = 0, exclusive = 0;
};

using FileKey = std::pair<uint64_t, uint64_t>;  // (device, inode)

std::map<FileKey, Holders>& Registry() {
  static auto* files = new std::map<FileKey, Holders>;
  return *files;
}

// The identity of the file now at `path`; nullopt when there is none.
std::optional<FileKey> KeyOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

// Whether another process holds a lock that conflicts with a write lock on [start, start + len) of `path`.
bool LockedElsewhere(const std::string& path, off_t start, off_t len) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = start;
  probe.l_len = len;
  const bool locked = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

}  // namespace

Result<std::unique_ptr<OpenFileRegistration>> OpenFileRegistration::Register(const std::string& path,
                                                                             bool exclusive) {
  std::unique_ptr<OpenFileRegistration> registration(new OpenFileRegistration);
  const auto key = KeyOf(path);
  if (!key) return registration;
  registration->device_ = key->first;
  registration->inode_ = key->second;
  std::lock_guard lock(RegistryMutex());
  Holders& holders = Registry()[*key];
  if (holders.exclusive != 0)
    return Status::Busy(fmt::format("'{}' is held by an exclusive store in this process: close it first (an "
                                    "exclusive open has its file alone until it closes)",
                                    path));
  if (exclusive && holders.handles != 0)
    return Status::Busy(fmt::format("'{}' is open elsewhere (another process, or another handle in this one): an "
                                    "exclusive open needs the file to itself; close the others, or open it without "
                                    "exclusive",
                                    path));
  ++holders.handles;
  if (exclusive) ++holders.exclusive;
  registration->registered_ = true;
  registration->exclusive_ = exclusive;
  return registration;
}

OpenFileRegistration::~OpenFileRegistration() {
  if (!registered_) return;
  std::lock_guard lock(RegistryMutex());
  auto it = Registry().find({device_, inode_});
  if (it == Registry().end()) return;
  if (exclusive_) --it->second.exclusive;
  if (--it->second.handles == 0) Registry().erase(it);
}

Status CheckNotHeldExclusive(const std::string& path) {
  const auto key = KeyOf(path);
  if (!key) return Status::OK();
  std::lock_guard lock(RegistryMutex());
  auto it = Registry().find(*key);
  if (it != Registry().end() && it->second.exclusive != 0)
    return Status::Busy(fmt::format("'{}' is held by an exclusive store in this process: use that store, or close "
                                    "it first",
                                    path));
  return Status::OK();
}

Status CheckNotInUse(const std::string& path) {
  const auto key = KeyOf(path);
  if (!key) return Status::OK();
  {
    std::lock_guard lock(RegistryMutex());
    if (Registry().count(*key) != 0)
      return Status::Busy(fmt::format("'{}' is open in this process: close the store first", path));
  }
  // The probes open and close descriptors of the file: harmless here, since this process has no SQLite connection
  // to it (closing a descriptor drops this process's POSIX locks on the file, which would break one).
  constexpr off_t kShmDms = 128;             // SQLite's unix VFS: the dead-man-switch byte of the -shm
  constexpr off_t kPendingByte = 0x40000000;  // SQLite's lock bytes in the database file
  if (LockedElsewhere(path + "-shm", kShmDms, 1) || LockedElsewhere(path, kPendingByte, 512))
    return Status::Busy(fmt::format("'{}' is open in another process: stop it (or close the store) first", path));
  return Status::OK();
}

}  // namespace convstore::api
