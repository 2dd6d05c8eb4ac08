#include "util/marker_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "util/durable_file.h"

namespace convstore::util {

namespace {

std::string ReadAll(int fd) {
  std::string text;
  char buf[512];
  ssize_t n;
  off_t at = 0;
  while ((n = ::pread(fd, buf, sizeof buf, at)) > 0 && text.size() < 4096) {
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return text;
}

// The descriptors of the markers this process holds, as fd + 1 (0: a free slot). A forked child closes its copies
// at once (pthread_atfork), so that a child outliving a crashed parent cannot keep a marker locked: flock belongs
// to the open file description, which the parent's descriptor keeps locked. No mutex: the child handler must not
// wait on a lock another thread held at the fork.
constexpr int kSlots = 16;
std::atomic<int> g_held[kSlots];

void CloseHeldInChild() {
  for (auto& slot : g_held)
    if (const int v = slot.exchange(0); v > 0) ::close(v - 1);
}

void Register(int fd) {
  static const bool registered = ::pthread_atfork(nullptr, nullptr, &CloseHeldInChild) == 0;
  if (!registered) return;
  for (auto& slot : g_held) {
    int expected = 0;
    if (slot.compare_exchange_strong(expected, fd + 1)) return;
  }
}

void Unregister(int fd) {
  for (auto& slot : g_held) {
    int expected = fd + 1;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

// Whether `fd` is still the file named `path` (a releasing holder removes the name before unlocking, so a lock
// taken on a removed marker must be retried on the new one).
bool StillNamed(int fd, const std::string& path) {
  struct stat by_fd, by_name;
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_name) == 0 && by_fd.st_dev == by_name.st_dev &&
         by_fd.st_ino == by_name.st_ino;
}

}  // namespace

Result<MarkerFile> MarkerFile::Acquire(const std::string& path, const std::string& description,
                                       const std::function<void(const std::string& holder)>& on_wait,
                                       int remind_ms) {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> last_told;
  for (;;) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return StatusFromErrno(fmt::format("cannot create the marker '{}'", path), errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      if (e != EWOULDBLOCK) {
        ::close(fd);
        return StatusFromErrno(fmt::format("cannot lock the marker '{}'", path), e);
      }
      const std::string holder = ReadAll(fd);
      ::close(fd);
      if (on_wait && (!last_told || Clock::now() - *last_told >= std::chrono::milliseconds(remind_ms))) {
        on_wait(holder.empty() ? "another process" : holder);
        last_told = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (!StillNamed(fd, path)) {  // its holder removed it between our open and our lock
      ::close(fd);
      continue;
    }
    errno = 0;
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, description.data(), description.size(), 0) != static_cast<ssize_t>(description.size())) {
      const int e = errno != 0 ? errno : EIO;  // a short write sets no errno
      ::unlink(path.c_str());
      ::close(fd);
      return StatusFromErrno(fmt::format("cannot write the marker '{}'", path), e);
    }
    Register(fd);
    return MarkerFile(path, fd, ::getpid());
  }
}

std::optional<std::string> MarkerFile::HolderOf(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> holder;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) holder = ReadAll(fd);
  ::close(fd);  // drops the shared lock when it was taken
  return holder;
}

MarkerFile& MarkerFile::operator=(MarkerFile&& other) noexcept {
  if (this != &other) {
    Release();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    owner_ = other.owner_;
    other.fd_ = -1;
  }
  return *this;
}

MarkerFile::~MarkerFile() { Release(); }

void MarkerFile::Release() noexcept {
  if (fd_ < 0) return;
  if (owner_ != ::getpid()) {  // a forked child's copy: its descriptor was closed at the fork
    fd_ = -1;
    return;
  }
  // The name first (a waiter that locks the old file then sees it was removed), and only while it still names
  // this marker: one removed by hand meanwhile may have been replaced by another process's.
  if (StillNamed(fd_, path_)) ::unlink(path_.c_str());
  Unregister(fd_);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace convstore::util
