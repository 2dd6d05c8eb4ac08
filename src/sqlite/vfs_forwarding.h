// The pass-through half of a VFS shim: io methods that hand every call to the wrapped VFS's file, for a shim to
// take as a table and override the few methods it changes (after SQLite's test_vfstrace.c).
//
// A shim's file struct starts with a ForwardingFile: SQLite's sqlite3_file, then the wrapped file. Methods() gives
// a table for one io_methods version; MethodsFor() picks, from three such tables, the one the wrapped file can
// answer, so SQLite never calls a method the wrapped file lacks.
//
// Thread-safety: stateless; each call touches only the file it is given.
#pragma once
#include <sqlite3.h>

namespace convstore::sqlite::vfs_forwarding {

struct ForwardingFile {
  sqlite3_file base;   // must be first: SQLite sees this
  sqlite3_file* real;  // the wrapped VFS's file
};

inline sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<ForwardingFile*>(f)->real; }
inline const sqlite3_io_methods* RealMethods(sqlite3_file* f) { return Real(f)->pMethods; }

inline int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  return RealMethods(f)->xRead(Real(f), buf, amt, off);
}
inline int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  return RealMethods(f)->xWrite(Real(f), buf, amt, off);
}
inline int Truncate(sqlite3_file* f, sqlite3_int64 size) { return RealMethods(f)->xTruncate(Real(f), size); }
inline int Sync(sqlite3_file* f, int flags) { return RealMethods(f)->xSync(Real(f), flags); }
inline int FileSize(sqlite3_file* f, sqlite3_int64* size) { return RealMethods(f)->xFileSize(Real(f), size); }
inline int Lock(sqlite3_file* f, int lock) { return RealMethods(f)->xLock(Real(f), lock); }
inline int Unlock(sqlite3_file* f, int lock) { return RealMethods(f)->xUnlock(Real(f), lock); }
inline int CheckReservedLock(sqlite3_file* f, int* out) { return RealMethods(f)->xCheckReservedLock(Real(f), out); }
inline int FileControl(sqlite3_file* f, int op, void* arg) { return RealMethods(f)->xFileControl(Real(f), op, arg); }
inline int SectorSize(sqlite3_file* f) { return RealMethods(f)->xSectorSize(Real(f)); }
inline int DeviceCharacteristics(sqlite3_file* f) { return RealMethods(f)->xDeviceCharacteristics(Real(f)); }
// Version 2: shared memory (the WAL index).
inline int ShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  return RealMethods(f)->xShmMap(Real(f), page, page_size, extend, out);
}
inline int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return RealMethods(f)->xShmLock(Real(f), offset, n, flags);
}
inline void ShmBarrier(sqlite3_file* f) { RealMethods(f)->xShmBarrier(Real(f)); }
inline int ShmUnmap(sqlite3_file* f, int delete_flag) { return RealMethods(f)->xShmUnmap(Real(f), delete_flag); }
// Version 3: memory-mapped I/O.
inline int Fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  return RealMethods(f)->xFetch(Real(f), off, amt, out);
}
inline int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return RealMethods(f)->xUnfetch(Real(f), off, p); }

// A table of io_methods `version` (1 to 3) forwarding every method; xClose is the shim's to set (it owns `real`).
constexpr sqlite3_io_methods Methods(int version) {
  sqlite3_io_methods m{};
  m.iVersion = version;
  m.xRead = Read;
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  m.xFileSize = FileSize;
  m.xLock = Lock;
  m.xUnlock = Unlock;
  m.xCheckReservedLock = CheckReservedLock;
  m.xFileControl = FileControl;
  m.xSectorSize = SectorSize;
  m.xDeviceCharacteristics = DeviceCharacteristics;
  if (version >= 2) {
    m.xShmMap = ShmMap;
    m.xShmLock = ShmLock;
    m.xShmBarrier = ShmBarrier;
    m.xShmUnmap = ShmUnmap;
  }
  if (version >= 3) {
    m.xFetch = Fetch;
    m.xUnfetch = Unfetch;
  }
  return m;
}

// Of `tables` (versions 1, 2 and 3), the one for a wrapped file with methods `real`.
inline const sqlite3_io_methods* MethodsFor(const sqlite3_io_methods* real, const sqlite3_io_methods (&tables)[3]) {
  const int v = real->iVersion;
  if (v >= 3) return &tables[2];
  // A version-2 file must really have the shm methods for a shim to advertise them.
  if (v == 2 && real->xShmMap != nullptr) return &tables[1];
  return &tables[0];
}

}  // namespace convstore::sqlite::vfs_forwarding
