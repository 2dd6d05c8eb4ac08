#include "sqlite/error.h"

#include <sqlite3.h>

#include <fmt/format.h>

namespace convstore::sqlite {

Code CodeForSqlite(int rc) noexcept {
  switch (rc & 0xFF) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return Code::kOk;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Code::kBusy;
    case SQLITE_CONSTRAINT: return Code::kConflict;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL: return Code::kIoError;
    case SQLITE_READONLY: return Code::kReadOnly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Code::kCorruption;
    case SQLITE_TOOBIG: return Code::kTooLarge;
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return Code::kInvalidArgument;
    default: return Code::kInternal;
  }
}

Status FromSqlite(int rc, sqlite3* db, std::string_view context) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Status(CodeForSqlite(rc), fmt::format("{}: {} (sqlite code {})", context, detail, rc));
}

}  // namespace convstore::sqlite
