// Whether a store file is open, by this process or another: a restore must not replace a file under a store that
// is using it (the store would go on writing to the old file, and its -wal could be applied to the new one); and an
// exclusive store must have its file alone in this process too (SQLite's process-exclusive VFS refuses other
// processes only).
//
// This process: every file store registers its file's identity (device, inode) while open, saying whether it holds
// it exclusively. Other processes: a SQLite connection to a WAL database holds a read lock on the "DMS" byte of its
// -shm file (and, during transactions, locks on the database file) for as long as it is open, and an exclusive
// store's process holds a write lock on the database file's shared-lock range; F_GETLK finds them without taking
// them.
//
// Thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "convstore/status.h"

namespace convstore::api {

class OpenFileRegistration {
 public:
  // Registers the file now at `path` (no registration when it does not exist). kBusy, registering nothing, when
  // this process already has the file open and either that handle or this one is exclusive.
  static Result<std::unique_ptr<OpenFileRegistration>> Register(const std::string& path, bool exclusive);
  ~OpenFileRegistration();
  OpenFileRegistration(const OpenFileRegistration&) = delete;
  OpenFileRegistration& operator=(const OpenFileRegistration&) = delete;

 private:
  OpenFileRegistration() = default;
  bool registered_ = false, exclusive_ = false;
  uint64_t device_ = 0, inode_ = 0;
};

// kBusy naming who has `path` open (this process or another); OK when nobody does or the file does not exist.
Status CheckNotInUse(const std::string& path);

// kBusy when an exclusive store of this process holds `path` (SQLite would let another connection of this process
// share its hold on the file); OK otherwise.
Status CheckNotHeldExclusive(const std::string& path);

}  // namespace convstore::api
