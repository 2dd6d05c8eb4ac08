// The fault-injecting VFS shim (see fault_vfs.h). After SQLite's test_vfstrace.c / test_devsym.c: each file we
// open is a File header followed in the same allocation by the wrapped VFS's own sqlite3_file, so szOsFile is
// sizeof(File) + the wrapped szOsFile. Every method passes through to the wrapped file; xWrite, xSync and xOpen can
// be made to fail.
#include "fault_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "sqlite/vfs_forwarding.h"

namespace fault_vfs {

namespace {

struct State {
  std::atomic<Kind> kind{Kind::kNone};
  std::atomic<uint64_t> nth{0};
  std::atomic<bool> sticky{false};
  std::atomic<uint64_t> since_arm{0};
  std::atomic<uint64_t> injected{0};
  std::atomic<bool> real_sync{true};
  std::atomic<unsigned> write_delay_us{0};
  std::atomic<uint64_t> opens{0}, reads{0}, writes{0}, syncs{0}, truncates{0}, deletes{0}, wal_commits{0};
};

State g;
sqlite3_vfs* g_root = nullptr;  // the VFS we wrap; set once by Install
sqlite3_vfs g_vfs;
// The same over SQLite's process-exclusive sibling of the default ("unix-excl"), for exclusive stores: the library
// opens their files through the default VFS's "-excl" sibling (src/sqlite/wal_write_gathering.h).
sqlite3_vfs g_exclusive_vfs;

enum class Method { kOpen, kWrite, kSync };

Method MethodOf(Kind k) {
  switch (k) {
    case Kind::kOpen: return Method::kOpen;
    case Kind::kSync: return Method::kSync;
    default: return Method::kWrite;
  }
}

// Counts a call of `method` against the armed fault; returns the armed kind when this call must fail, else kNone.
Kind Check(Method method) {
  Kind armed = g.kind.load(std::memory_order_acquire);
  if (armed == Kind::kNone || MethodOf(armed) != method) return Kind::kNone;
  uint64_t n = g.since_arm.fetch_add(1, std::memory_order_acq_rel) + 1;
  uint64_t nth = g.nth.load(std::memory_order_acquire);
  if (nth == 0) return Kind::kNone;  // counting only
  if (n == nth || (n > nth && g.sticky.load(std::memory_order_acquire))) {
    g.injected.fetch_add(1, std::memory_order_acq_rel);
    return armed;
  }
  return Kind::kNone;
}

using convstore::sqlite::vfs_forwarding::Real;
using convstore::sqlite::vfs_forwarding::RealMethods;
namespace forwarding = convstore::sqlite::vfs_forwarding;

struct File {
  forwarding::ForwardingFile head;  // must be first; `real` points just past this struct, into the same allocation
  bool wal;                         // opened with SQLITE_OPEN_WAL
  uint32_t page_size;               // a WAL file's page size (its header's), once known
};

constexpr int kWalFrameHeaderBytes = 24;

constexpr int kWalHeaderBytes = 32;

uint32_t BigEndian32(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

// The commit frames in a write of a WAL file that succeeded: a frame header carries the database size in pages at
// bytes 4..7 (big-endian) for a commit frame, else 0. A write may hold several frames (convstore gathers a
// transaction's frames into one write), and the WAL header at offset 0 (whose bytes 8..11 give the page size).
uint64_t CommitFrames(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  auto* file = reinterpret_cast<File*>(f);
  const auto* b = static_cast<const unsigned char*>(buf);
  if (amt == kWalFrameHeaderBytes) return (b[4] | b[5] | b[6] | b[7]) != 0 ? 1 : 0;
  if (off == 0 && amt >= kWalHeaderBytes) file->page_size = BigEndian32(b + 8);
  if (file->page_size == 0) {
    unsigned char header[kWalHeaderBytes];
    if (RealMethods(f)->xRead(Real(f), header, kWalHeaderBytes, 0) != SQLITE_OK) return 0;
    file->page_size = BigEndian32(header + 8);
    if (file->page_size == 0) return 0;
  }
  const sqlite3_int64 frame = kWalFrameHeaderBytes + sqlite3_int64{file->page_size};
  uint64_t commits = 0;
  // Frame k's header starts at 32 + k * frame; count the headers wholly inside [off, off + amt).
  sqlite3_int64 at = off <= kWalHeaderBytes ? kWalHeaderBytes
                                            : kWalHeaderBytes + ((off - kWalHeaderBytes + frame - 1) / frame) * frame;
  for (; at + kWalFrameHeaderBytes <= off + amt; at += frame) {
    const unsigned char* h = b + (at - off);
    if ((h[4] | h[5] | h[6] | h[7]) != 0) ++commits;
  }
  return commits;
}

// ---- io methods ---------------------------------------------------------------------------------------------

int FClose(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  int rc = r->pMethods != nullptr ? r->pMethods->xClose(r) : SQLITE_OK;
  f->pMethods = nullptr;
  return rc;
}

int FRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  g.reads.fetch_add(1, std::memory_order_relaxed);
  return RealMethods(f)->xRead(Real(f), buf, amt, off);
}

int FWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  g.writes.fetch_add(1, std::memory_order_relaxed);
  unsigned delay_us = g.write_delay_us.load(std::memory_order_relaxed);
  if (delay_us > 0 && reinterpret_cast<File*>(f)->wal) {
    // Per 2 KiB, at least once: a commit's frames written in one call are delayed as long as when SQLite wrote
    // each frame's header and page in calls of their own.
    const int64_t units = std::max<int64_t>(1, amt / 2048);
    std::this_thread::sleep_for(std::chrono::microseconds(int64_t{delay_us} * units));
  }
  switch (Check(Method::kWrite)) {
    case Kind::kWrite: return SQLITE_IOERR_WRITE;
    case Kind::kDiskFull:
      if (amt > 1) (void)RealMethods(f)->xWrite(Real(f), buf, amt / 2, off);  // the part that fit
      return SQLITE_FULL;
    default: break;
  }
  int rc = RealMethods(f)->xWrite(Real(f), buf, amt, off);
  if (rc == SQLITE_OK && reinterpret_cast<File*>(f)->wal)
    g.wal_commits.fetch_add(CommitFrames(f, buf, amt, off), std::memory_order_relaxed);
  return rc;
}

int FTruncate(sqlite3_file* f, sqlite3_int64 size) {
  g.truncates.fetch_add(1, std::memory_order_relaxed);
  return RealMethods(f)->xTruncate(Real(f), size);
}

int FSync(sqlite3_file* f, int flags) {
  g.syncs.fetch_add(1, std::memory_order_relaxed);
  if (Check(Method::kSync) != Kind::kNone) return SQLITE_IOERR_FSYNC;
  if (!g.real_sync.load(std::memory_order_relaxed)) return SQLITE_OK;
  return RealMethods(f)->xSync(Real(f), flags);
}

// The pass-through table, with the methods that count calls and inject faults.
constexpr sqlite3_io_methods MakeMethods(int version) {
  sqlite3_io_methods m = forwarding::Methods(version);
  m.xClose = FClose;
  m.xRead = FRead;
  m.xWrite = FWrite;
  m.xTruncate = FTruncate;
  m.xSync = FSync;
  return m;
}

const sqlite3_io_methods kMethods[3] = {MakeMethods(1), MakeMethods(2), MakeMethods(3)};

// ---- VFS methods --------------------------------------------------------------------------------------------

int VOpen(sqlite3_vfs* self, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* root = static_cast<sqlite3_vfs*>(self->pAppData);  // g_root, or its process-exclusive sibling
  auto* file = reinterpret_cast<File*>(f);
  file->head.base.pMethods = nullptr;  // on failure SQLite requires pMethods == NULL (it will not call xClose)
  sqlite3_file* real = reinterpret_cast<sqlite3_file*>(file + 1);
  file->head.real = real;
  real->pMethods = nullptr;
  file->wal = (flags & SQLITE_OPEN_WAL) != 0;
  file->page_size = 0;
  g.opens.fetch_add(1, std::memory_order_relaxed);
  if (Check(Method::kOpen) != Kind::kNone) return SQLITE_CANTOPEN;
  int rc = root->xOpen(root, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // The wrapped VFS must leave pMethods NULL on failure; if it did not, it expects xClose.
    if (real->pMethods != nullptr) real->pMethods->xClose(real);
    return rc;
  }
  file->head.base.pMethods = forwarding::MethodsFor(real->pMethods, kMethods);
  return SQLITE_OK;
}

int VDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  g.deletes.fetch_add(1, std::memory_order_relaxed);
  if (!g.real_sync.load(std::memory_order_relaxed)) sync_dir = 0;
  return g_root->xDelete(g_root, name, sync_dir);
}
int VAccess(sqlite3_vfs*, const char* name, int flags, int* out) { return g_root->xAccess(g_root, name, flags, out); }
int VFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_root->xFullPathname(g_root, name, n, out);
}
void* VDlOpen(sqlite3_vfs*, const char* name) { return g_root->xDlOpen(g_root, name); }
void VDlError(sqlite3_vfs*, int n, char* out) { g_root->xDlError(g_root, n, out); }
using DlSymFn = void (*)(void);
DlSymFn VDlSym(sqlite3_vfs*, void* handle, const char* symbol) { return g_root->xDlSym(g_root, handle, symbol); }
void VDlClose(sqlite3_vfs*, void* handle) { g_root->xDlClose(g_root, handle); }
int VRandomness(sqlite3_vfs*, int n, char* out) { return g_root->xRandomness(g_root, n, out); }
int VSleep(sqlite3_vfs*, int us) { return g_root->xSleep(g_root, us); }
int VCurrentTime(sqlite3_vfs*, double* out) { return g_root->xCurrentTime(g_root, out); }
int VGetLastError(sqlite3_vfs*, int n, char* out) {
  return g_root->xGetLastError != nullptr ? g_root->xGetLastError(g_root, n, out) : 0;
}
int VCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) { return g_root->xCurrentTimeInt64(g_root, out); }
int VSetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr fn) {
  return g_root->xSetSystemCall(g_root, name, fn);
}
sqlite3_syscall_ptr VGetSystemCall(sqlite3_vfs*, const char* name) { return g_root->xGetSystemCall(g_root, name); }
const char* VNextSystemCall(sqlite3_vfs*, const char* name) { return g_root->xNextSystemCall(g_root, name); }

bool DoInstall() {
  g_root = sqlite3_vfs_find(nullptr);  // initialises SQLite; the platform default ("unix")
  if (g_root == nullptr) return false;
  g_vfs = sqlite3_vfs{};
  // Advertise no more than we forward, and no more than version 3 (the layout this file knows).
  g_vfs.iVersion = g_root->iVersion < 3 ? g_root->iVersion : 3;
  g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_root->szOsFile;
  g_vfs.mxPathname = g_root->mxPathname;
  g_vfs.zName = "fault";
  g_vfs.pAppData = g_root;
  g_vfs.xOpen = VOpen;
  g_vfs.xDelete = VDelete;
  g_vfs.xAccess = VAccess;
  g_vfs.xFullPathname = VFullPathname;
  g_vfs.xDlOpen = VDlOpen;
  g_vfs.xDlError = VDlError;
  g_vfs.xDlSym = VDlSym;
  g_vfs.xDlClose = VDlClose;
  g_vfs.xRandomness = VRandomness;
  g_vfs.xSleep = VSleep;
  g_vfs.xCurrentTime = VCurrentTime;
  g_vfs.xGetLastError = VGetLastError;
  if (g_vfs.iVersion >= 2) g_vfs.xCurrentTimeInt64 = VCurrentTimeInt64;
  if (g_vfs.iVersion >= 3) {
    g_vfs.xSetSystemCall = VSetSystemCall;
    g_vfs.xGetSystemCall = VGetSystemCall;
    g_vfs.xNextSystemCall = VNextSystemCall;
  }
  sqlite3_vfs* exclusive_root = sqlite3_vfs_find("unix-excl");
  if (exclusive_root != nullptr && exclusive_root->szOsFile <= g_root->szOsFile) {
    g_exclusive_vfs = g_vfs;
    g_exclusive_vfs.zName = "fault-excl";
    g_exclusive_vfs.pAppData = exclusive_root;
    if (sqlite3_vfs_register(&g_exclusive_vfs, 0) != SQLITE_OK) return false;
  }
  return sqlite3_vfs_register(&g_vfs, 1) == SQLITE_OK;
}

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNone: return "none";
    case Kind::kWrite: return "write";
    case Kind::kSync: return "sync";
    case Kind::kOpen: return "open";
    case Kind::kDiskFull: return "disk_full";
  }
  return "?";
}

bool Install() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = DoInstall(); });
  return ok;
}

void Arm(Kind kind, uint64_t nth, bool sticky) {
  g.kind.store(Kind::kNone, std::memory_order_release);  // no half-armed state is ever visible
  g.nth.store(nth, std::memory_order_release);
  g.sticky.store(sticky, std::memory_order_release);
  g.since_arm.store(0, std::memory_order_release);
  g.kind.store(kind, std::memory_order_release);
}

void Disarm() { g.kind.store(Kind::kNone, std::memory_order_release); }

uint64_t CallsSinceArm() { return g.since_arm.load(std::memory_order_acquire); }
uint64_t FaultsInjected() { return g.injected.load(std::memory_order_acquire); }

Counters Get() {
  Counters c;
  c.opens = g.opens.load();
  c.reads = g.reads.load();
  c.writes = g.writes.load();
  c.syncs = g.syncs.load();
  c.truncates = g.truncates.load();
  c.deletes = g.deletes.load();
  c.wal_commits = g.wal_commits.load();
  return c;
}

void ResetCounters() {
  g.injected.store(0);
  g.opens.store(0);
  g.reads.store(0);
  g.writes.store(0);
  g.syncs.store(0);
  g.truncates.store(0);
  g.deletes.store(0);
  g.wal_commits.store(0);
}

void SetRealSync(bool real) { g.real_sync.store(real, std::memory_order_relaxed); }

void SetWriteDelayUs(unsigned us) { g.write_delay_us.store(us, std::memory_order_relaxed); }

}  // namespace fault_vfs
