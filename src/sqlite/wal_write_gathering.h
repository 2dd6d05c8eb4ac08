// WAL write gathering: a VFS shim that hands a transaction's WAL frames to the operating system in one write.
//
// SQLite writes each WAL frame as two system calls, its 24-byte header and then its page, so a commit of five pages
// costs ten writes; on a virtual machine each one costs several microseconds of kernel entry and page-cache work
// whatever its size. This shim keeps a WAL file's consecutive appends in a buffer and writes them at once when the
// commit frame's page arrives — the frame whose header carries the database size (bytes 4..7), which SQLite writes
// last before it publishes the commit in the WAL index. Nothing is held back past that point, so other connections,
// in this process or another, never see a commit whose frames are not in the file, and a crash loses only frames
// of a transaction that had not committed, as before.
//
// A write over what the handle already wrote since the WAL last started again (SQLite rewriting frame headers'
// checksums after the commit frame, or writing a page of its own transaction again in place) is not an append: it
// goes out at once, after whatever is gathered.
//
// The buffer is also written out first whenever anything else touches the file: a read (a transaction reading back
// a page it spilled, a checkpoint of this connection), a sync (FULL durability syncs the WAL at every commit),
// truncate, size, close; and before a write that does not follow the buffered ones, or would take
// the buffer past kMaxGatheredBytes. A failed write is reported by the call that made it (the commit's write, or
// the read that needed the buffer out) and the buffer is dropped: SQLite then rolls the transaction back, and its
// frames are rewritten by the next one. Files other than WAL files pass through untouched.
//
// The shim wraps whichever VFS is the process's default when a file is opened (so a VFS registered as default later
// — the tests' fault injection — is still what reaches the disk), and is registered once, not as the default. A
// second registration wraps that VFS's process-exclusive sibling ("unix-excl" for SQLite's "unix"): its files take
// one lock for the whole process at their first use, refusing every other process, and share their WAL index
// between this process's connections in heap memory instead of a -shm file.
//
// Thread-safety: GatheringVfsName is thread-safe. Each file's buffer belongs to the connection that opened it, which
// SQLite never uses from two threads at once.
#pragma once
#include <cstddef>

namespace convstore::sqlite {

// At most this many bytes are gathered before they are written: a large transaction's frames go out in steps of
// about this size. Below 128 KiB: SQLite's unix VFS writes at most 0x1ffff bytes per system call and reports a write
// whose length is a multiple of 128 KiB as a full disk (seekAndWriteFd masks the length).
inline constexpr size_t kMaxGatheredBytes = 120 * 1024;

// The registered name of the shim (registering both on first use), to pass to sqlite3_open_v2: over the default
// VFS, or with `process_exclusive` over its process-exclusive sibling (opening a file through it fails with
// SQLITE_CANTOPEN when the default VFS has none). nullptr when SQLite refused the registration, in which case
// callers open with the default VFS directly (an exclusive open cannot be made).
const char* GatheringVfsName(bool process_exclusive = false);

}  // namespace convstore::sqlite
