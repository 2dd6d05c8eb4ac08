// A fault-injecting SQLite VFS for tests: a shim over the default ("unix") VFS, registered as the process default
// so every connection convstore opens goes through it without any API change.
//
//   fault_vfs::Install();                                  // once, before opening anything
//   fault_vfs::Arm(fault_vfs::Kind::kWrite, 7);            // the 7th xWrite from now fails with SQLITE_IOERR_WRITE
//   ... run the code under test ...
//   fault_vfs::Disarm();
//
// Fault kinds (N counts calls of the kind's method from the moment of arming, 1-based):
//   kWrite     the Nth xWrite fails with SQLITE_IOERR_WRITE, writing nothing.
//   kSync      the Nth xSync fails with SQLITE_IOERR_FSYNC, syncing nothing.
//   kOpen      the Nth xOpen fails with SQLITE_CANTOPEN, opening nothing.
//   kDiskFull  the Nth xWrite writes the first half of its buffer and fails with SQLITE_FULL (what the unix VFS
//              does when write(2) runs out of space part-way).
// A sticky fault also fails every later call of the kind until Disarm (a disk stays full; a dead device stays dead).
//
// Counters of operations seen run whether or not a fault is armed. Thread-safe (atomics); the file methods may be
// called from any thread.
#pragma once
#include <cstdint>

namespace fault_vfs {

enum class Kind { kNone, kWrite, kSync, kOpen, kDiskFull };

// Name for messages: "none", "write", "sync", "open", "disk_full".
const char* KindName(Kind kind);

struct Counters {
  uint64_t opens = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t syncs = 0;
  uint64_t truncates = 0;
  uint64_t deletes = 0;
  // Commit frames written to a WAL (frame headers with a non-zero "database size" field): one per transaction
  // committed in WAL mode, so with `writes acknowledged` it shows whether group commit batched several writes.
  uint64_t wal_commits = 0;
};

// Registers the shim (VFS name "fault") as the default VFS, and the same shim over "unix-excl" as its
// process-exclusive sibling "fault-excl" (what exclusive stores open through). Idempotent; returns false if SQLite
// refused.
bool Install();

// Arms one fault, replacing any armed before, and restarts the count of calls of that kind at 0.
void Arm(Kind kind, uint64_t nth, bool sticky = false);
// No faults from now on. Counters are kept.
void Disarm();
// Calls of the armed kind's method since Arm (what a dry run with kind armed at N = 0 measures).
uint64_t CallsSinceArm();
// Faults injected since the last ResetCounters.
uint64_t FaultsInjected();

Counters Get();
void ResetCounters();

// When false, xSync reports success without calling the real fsync (tests that do not simulate power loss gain
// speed; what SQLite sees is unchanged). Default true.
void SetRealSync(bool real);

// Sleeps this long in every xWrite to a WAL file, and as much again for every further 2 KiB it writes (0: no delay,
// the default), so a commit written in one call (convstore gathers a commit's frames) is slowed as much as one
// written a call per frame header and page. Slows the writer so that concurrent writes queue up behind it and get
// group-committed.
void SetWriteDelayUs(unsigned us);

}  // namespace fault_vfs
