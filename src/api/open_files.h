// Whether a store file is open, by this process or another: a restore must not replace a file under a store that
// is using it (the store would go on writing to the old file, and its -wal could be applied to the new one).
//
// This process: every file store registers its file's identity (device, inode) while open. Other processes: a
// SQLite connection to a WAL database holds a read lock on the "DMS" byte of its -shm file (and, during
// transactions, locks on the database file) for as long as it is open; F_GETLK finds them without taking them.
//
// Thread-safe.
#pragma once
#include <cstdint>
#include <string>

#include "convstore/status.h"

namespace convstore::api {

class OpenFileRegistration {
 public:
  explicit OpenFileRegistration(const std::string& path);  // registers the file now at `path` (none if missing)
  ~OpenFileRegistration();
  OpenFileRegistration(const OpenFileRegistration&) = delete;
  OpenFileRegistration& operator=(const OpenFileRegistration&) = delete;

 private:
  bool registered_ = false;
  uint64_t device_ = 0, inode_ = 0;
};

// kBusy naming who has `path` open (this process or another); OK when nobody does or the file does not exist.
Status CheckNotInUse(const std::string& path);

}  // namespace convstore::api
