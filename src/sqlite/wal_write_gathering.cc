#include "sqlite/wal_write_gathering.h"

#include <sqlite3.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

#include "sqlite/vfs_forwarding.h"

namespace convstore::sqlite {

namespace {

constexpr int kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;
constexpr size_t kInitialBufferBytes = 32 * 1024;

// Where the file is in SQLite's sequence of WAL writes: the WAL header or a frame header next, a frame's page next,
// or the page of a commit frame next (after which everything gathered goes out).
enum class Next { kHeader, kPage, kCommitPage };

struct File {
  vfs_forwarding::ForwardingFile head;  // must be first; `real` is allocated beside (the wrapped VFS's size)
  bool wal;
  Next next;
  unsigned char* buffer;
  size_t capacity, length;
  sqlite3_int64 start;  // file offset of buffer[0]
  // The end of what this handle has written (or gathered) since the WAL last started again: writes past it are
  // appends, gathered; writes before it rewrite frames and go out at once.
  sqlite3_int64 appended_to;
  // After a failed write of gathered frames (failed_rc not SQLITE_OK): writes fail until SQLite writes again at or
  // before failed_from (it rolled the transaction back and starts its frames over), so no later commit can follow
  // frames that never reached the file.
  int failed_rc;
  sqlite3_int64 failed_from;
};

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

// A frame header carries the database size in pages at bytes 4..7 for a commit frame, 0 otherwise.
bool IsCommitFrameHeader(const void* data) {
  const auto* b = static_cast<const unsigned char*>(data);
  return (b[4] | b[5] | b[6] | b[7]) != 0;
}

// Writes what is gathered; on failure drops it and fails the writes that would follow it.
int Flush(File* file) {
  if (file->length == 0) return SQLITE_OK;
  sqlite3_file* real = file->head.real;
  const int rc = real->pMethods->xWrite(real, file->buffer, static_cast<int>(file->length), file->start);
  if (rc != SQLITE_OK) {
    file->failed_from = file->start;
    file->failed_rc = rc;
    file->appended_to = file->start;
    file->next = Next::kHeader;
  }
  file->length = 0;
  return rc;
}

// Makes room for `amt` more bytes; false when memory is short (the caller writes through instead).
bool Reserve(File* file, size_t amt) {
  const size_t needed = file->length + amt;
  if (needed <= file->capacity) return true;
  size_t capacity = file->capacity == 0 ? kInitialBufferBytes : file->capacity;
  while (capacity < needed) capacity *= 2;
  void* grown = sqlite3_realloc64(file->buffer, capacity);
  if (grown == nullptr) return false;
  file->buffer = static_cast<unsigned char*>(grown);
  file->capacity = capacity;
  return true;
}

int WriteThrough(File* file, const void* data, int amt, sqlite3_int64 off) {
  const int rc = Flush(file);
  if (rc != SQLITE_OK) return rc;
  file->next = Next::kHeader;
  return file->head.real->pMethods->xWrite(file->head.real, data, amt, off);
}

int Gather(File* file, const void* data, int amt, sqlite3_int64 off) {
  if (file->failed_rc != SQLITE_OK) {
    if (off > file->failed_from) return file->failed_rc;
    file->failed_rc = SQLITE_OK;
  }
  if (off == 0 && amt == kWalHeaderBytes) {
    // The WAL starts again from its beginning: every frame after this header is new.
    const int rc = Flush(file);
    if (rc != SQLITE_OK) return rc;
    file->appended_to = 0;
    file->next = Next::kHeader;
  }
  const sqlite3_int64 end = off + amt;
  // Only appends are gathered. A write over what this handle already wrote — SQLite rewriting a frame header's
  // checksums after the commit frame, or a page of its own transaction written again in place — goes out at once,
  // after what is gathered: the rewritten commit header must not wait for a page that will not follow it.
  if (off < file->appended_to) return WriteThrough(file, data, amt, off);
  file->appended_to = end;
  const sqlite3_int64 buffered_end = file->start + static_cast<sqlite3_int64>(file->length);
  if (file->length > 0 &&
      (off != buffered_end || file->length + static_cast<size_t>(amt) > kMaxGatheredBytes)) {
    const bool follows = off == buffered_end;
    const int rc = Flush(file);
    if (rc != SQLITE_OK) return rc;
    if (!follows) file->next = Next::kHeader;
  }
  // Only the shapes SQLite's WAL writer produces are gathered: the WAL header, a frame header, the page after it.
  const bool expected = file->next == Next::kHeader ? (amt == kFrameHeaderBytes || (amt == kWalHeaderBytes && off == 0))
                                                    : amt > kFrameHeaderBytes;
  if (!expected || static_cast<size_t>(amt) > kMaxGatheredBytes || !Reserve(file, static_cast<size_t>(amt)))
    return WriteThrough(file, data, amt, off);
  if (file->length == 0) file->start = off;
  std::memcpy(file->buffer + file->length, data, static_cast<size_t>(amt));
  file->length += static_cast<size_t>(amt);
  switch (file->next) {
    case Next::kHeader:
      if (amt == kFrameHeaderBytes) file->next = IsCommitFrameHeader(data) ? Next::kCommitPage : Next::kPage;
      return SQLITE_OK;
    case Next::kPage:
      file->next = Next::kHeader;
      return SQLITE_OK;
    case Next::kCommitPage:
      file->next = Next::kHeader;
      return Flush(file);
  }
  return SQLITE_OK;
}

// ---- io methods: the pass-through table, with what touches a WAL file's content first writing what is gathered --

int GClose(sqlite3_file* f) {
  File* file = Of(f);
  // Whatever is still gathered belongs to a transaction that never committed; it is written all the same (past
  // every committed frame, where recovery ignores it), so that closing never leaves the file short of a write
  // SQLite was told had happened.
  const int flushed = file->wal ? Flush(file) : SQLITE_OK;
  sqlite3_free(file->buffer);
  file->buffer = nullptr;
  file->length = file->capacity = 0;
  sqlite3_file* r = file->head.real;
  const int rc = r->pMethods != nullptr ? r->pMethods->xClose(r) : SQLITE_OK;
  sqlite3_free(r);
  file->head.real = nullptr;
  f->pMethods = nullptr;
  return rc != SQLITE_OK ? rc : flushed;
}

int GWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  if (Of(f)->wal) return Gather(Of(f), buf, amt, off);
  return vfs_forwarding::Write(f, buf, amt, off);
}

// `Method` after writing what a WAL file has gathered.
template <auto Method, typename... Args>
int AfterFlush(sqlite3_file* f, Args... args) {
  if (Of(f)->wal) {
    const int rc = Flush(Of(f));
    if (rc != SQLITE_OK) return rc;
  }
  return Method(f, args...);
}

// File controls, locks and the shared memory change no content (a size hint, a lock query), so they pass through.
constexpr sqlite3_io_methods MakeMethods(int version) {
  sqlite3_io_methods m = vfs_forwarding::Methods(version);
  m.xClose = GClose;
  m.xWrite = GWrite;
  m.xRead = AfterFlush<vfs_forwarding::Read, void*, int, sqlite3_int64>;
  m.xTruncate = AfterFlush<vfs_forwarding::Truncate, sqlite3_int64>;
  m.xSync = AfterFlush<vfs_forwarding::Sync, int>;
  m.xFileSize = AfterFlush<vfs_forwarding::FileSize, sqlite3_int64*>;
  return m;
}

const sqlite3_io_methods kMethods[3] = {MakeMethods(1), MakeMethods(2), MakeMethods(3)};

// ---- VFS methods: the process's default VFS at the time of each call ------------------------------------------

sqlite3_vfs g_vfs, g_exclusive_vfs;

sqlite3_vfs* Base() { return sqlite3_vfs_find(nullptr); }

// The default VFS's process-exclusive sibling, by SQLite's naming: "unix" has "unix-excl" (and the tests' fault
// injection VFS a "-excl" sibling of its own); nullptr when there is none.
sqlite3_vfs* ExclusiveBase() {
  sqlite3_vfs* base = Base();
  if (base == nullptr) return nullptr;
  const std::string name = std::string(base->zName) + "-excl";
  return sqlite3_vfs_find(name.c_str());
}

// The VFS a file opened through `self` goes to: the default, or its process-exclusive sibling.
sqlite3_vfs* BaseFor(const sqlite3_vfs* self) { return self == &g_exclusive_vfs ? ExclusiveBase() : Base(); }

int VOpen(sqlite3_vfs* self, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = Of(f);
  std::memset(file, 0, sizeof(File));  // pMethods NULL: on failure SQLite does not call xClose
  sqlite3_vfs* base = BaseFor(self);
  if (base == nullptr) return SQLITE_CANTOPEN;
  sqlite3_file* real = static_cast<sqlite3_file*>(sqlite3_malloc(base->szOsFile));
  if (real == nullptr) return SQLITE_NOMEM;
  std::memset(real, 0, static_cast<size_t>(base->szOsFile));
  const int rc = base->xOpen(base, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // The wrapped VFS must leave pMethods NULL on failure; if it did not, it expects xClose.
    if (real->pMethods != nullptr) real->pMethods->xClose(real);
    sqlite3_free(real);
    return rc;
  }
  file->head.real = real;
  file->wal = (flags & SQLITE_OPEN_WAL) != 0;
  file->next = Next::kHeader;
  file->failed_rc = SQLITE_OK;
  file->head.base.pMethods = vfs_forwarding::MethodsFor(real->pMethods, kMethods);
  return SQLITE_OK;
}

int VDelete(sqlite3_vfs*, const char* name, int sync_dir) { return Base()->xDelete(Base(), name, sync_dir); }
int VAccess(sqlite3_vfs*, const char* name, int flags, int* out) { return Base()->xAccess(Base(), name, flags, out); }
int VFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return Base()->xFullPathname(Base(), name, n, out);
}
void* VDlOpen(sqlite3_vfs*, const char* name) { return Base()->xDlOpen(Base(), name); }
void VDlError(sqlite3_vfs*, int n, char* out) { Base()->xDlError(Base(), n, out); }
using DlSymFn = void (*)(void);
DlSymFn VDlSym(sqlite3_vfs*, void* handle, const char* symbol) { return Base()->xDlSym(Base(), handle, symbol); }
void VDlClose(sqlite3_vfs*, void* handle) { Base()->xDlClose(Base(), handle); }
int VRandomness(sqlite3_vfs*, int n, char* out) { return Base()->xRandomness(Base(), n, out); }
int VSleep(sqlite3_vfs*, int us) { return Base()->xSleep(Base(), us); }
int VCurrentTime(sqlite3_vfs*, double* out) { return Base()->xCurrentTime(Base(), out); }
int VGetLastError(sqlite3_vfs*, int n, char* out) {
  return Base()->xGetLastError != nullptr ? Base()->xGetLastError(Base(), n, out) : 0;
}
int VCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  sqlite3_vfs* base = Base();
  if (base->iVersion >= 2 && base->xCurrentTimeInt64 != nullptr) return base->xCurrentTimeInt64(base, out);
  double days = 0;
  const int rc = base->xCurrentTime(base, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

// Registers the two shims (not as the default): one over the default VFS, one over its process-exclusive
// sibling. Both forward everything but opening files to the default VFS.
bool Register() {
  sqlite3_vfs* base = Base();  // initialises SQLite
  if (base == nullptr) return false;
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;  // the system-call overrides of version 3 belong to the wrapped VFS
  g_vfs.szOsFile = static_cast<int>(sizeof(File));
  g_vfs.mxPathname = base->mxPathname;
  g_vfs.zName = "convstore-wal-gathering";
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
  g_vfs.xCurrentTimeInt64 = VCurrentTimeInt64;
  g_exclusive_vfs = g_vfs;
  g_exclusive_vfs.zName = "convstore-wal-gathering-excl";
  return sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK && sqlite3_vfs_register(&g_exclusive_vfs, 0) == SQLITE_OK;
}

}  // namespace

const char* GatheringVfsName(bool process_exclusive) {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] { registered = Register(); });
  if (!registered) return nullptr;
  return process_exclusive ? g_exclusive_vfs.zName : g_vfs.zName;
}

}  // namespace convstore::sqlite
