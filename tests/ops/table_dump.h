// Every row of every journaled table as text: the state replay, archive and restore tests compare (without the
// audit entry a restore adds). Reads on the
// caller's connection (inside its transaction when one is open, so the dump is one snapshot).
#pragma once
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <string_view>

#include "ops/journal_tables.h"

namespace convstore::testing {

inline std::string DumpJournaledTables(sqlite3* db) {
  std::string out;
  for (std::string_view table : ops::JournaledTables()) {
    out += "## " + std::string(table) + "\n";
    sqlite3_stmt* st = nullptr;
    // A restored store's audit log ends with the restore's own entry, which the source never had.
    const std::string where = table == "audit_log" ? " WHERE action <> 'store.restored'" : "";
    const std::string sql = "SELECT * FROM " + std::string(table) + where + " ORDER BY 1, 2";
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* text = sqlite3_column_text(st, c);
        out += sqlite3_column_type(st, c) == SQLITE_NULL ? "NULL" : std::string(reinterpret_cast<const char*>(text));
        out += "|";
      }
      out += "\n";
    }
    sqlite3_finalize(st);
  }
  return out;
}

// The same of the file at `path`, on a read-only connection of its own.
inline std::string DumpJournaledTables(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::string out = DumpJournaledTables(db);
  sqlite3_close(db);
  return out;
}

}  // namespace convstore::testing
