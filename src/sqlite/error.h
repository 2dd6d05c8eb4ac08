// Mapping SQLite result codes to convstore Status.
#pragma once
#include <string_view>

#include "convstore/status.h"

struct sqlite3;

namespace convstore::sqlite {
// `context` says what was being done ("insert message"); the SQLite message of `db` (if any) is appended.
Status FromSqlite(int rc, sqlite3* db, std::string_view context);
Code CodeForSqlite(int rc) noexcept;
}  // namespace convstore::sqlite
