// A marker file that tells other processes "this process is working on that file" (e.g. "<store>-migrate"):
// it holds a sentence saying who and what, is locked with flock for as long as its holder lives, and is removed
// when released. A marker whose holder died is not locked, so it is recognised as stale and taken over.
//
// Stateless functions; thread-safe. A MarkerFile is owned by one object; destroying it removes the file, then
// unlocks it (or the kernel unlocks it when the process dies). A forked child does not inherit the lock: its
// copy of the descriptor is closed at the fork, and its copy of the object neither removes nor unlocks anything.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "convstore/status.h"

namespace convstore::util {

class MarkerFile {
 public:
  // Creates (0600) and locks `path`, then writes `description` into it. When a live process holds the marker,
  // calls `on_wait` with the holder's description, waits until it is released (or its holder dies), calling
  // `on_wait` again every `remind_ms` while it waits, and then takes it.
  static Result<MarkerFile> Acquire(const std::string& path, const std::string& description,
                                    const std::function<void(const std::string& holder)>& on_wait,
                                    int remind_ms = 10000);

  // The description in the marker at `path` while a live process holds it; nullopt when there is no marker or
  // only a stale one.
  static std::optional<std::string> HolderOf(const std::string& path);

  MarkerFile(MarkerFile&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_), owner_(other.owner_) {
    other.fd_ = -1;
  }
  MarkerFile& operator=(MarkerFile&& other) noexcept;
  MarkerFile(const MarkerFile&) = delete;
  MarkerFile& operator=(const MarkerFile&) = delete;
  ~MarkerFile();

 private:
  MarkerFile(std::string path, int fd, int owner) : path_(std::move(path)), fd_(fd), owner_(owner) {}
  void Release() noexcept;
  std::string path_;
  int fd_ = -1;
  int owner_ = 0;  // the process that took it
};

}  // namespace convstore::util
