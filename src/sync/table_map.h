// How each synced SQLite table becomes a PostgreSQL table (pg_schema.h made them): the one description the initial
// load (COPY), the journal's inserts, updates and deletes, and the tests' comparison all follow.
//
// Every PostgreSQL row carries the source store's id (store_id) and the SQLite row id (src_id); ids between rows
// of one store are kept as source row ids (user_src, conversation_src, ...) beside the seed's UUID columns, which
// are either the source's own UUIDs (conversations, messages, tool calls, API usage), looked up by source row id
// (a message's conversation_id), or derived from (store_id, row id) by a generated column (users and teams, which
// have keys but no UUIDs). Money, token counts and times are exact: nano-USD integers (cost_usd is a generated
// NUMERIC), bigint counts, timestamptz with microseconds.
//
// Text PostgreSQL cannot hold: a NUL byte in a text column, or "\u0000" in a JSON document (jsonb refuses it).
// Such a value is stored with each NUL replaced by U+FFFD and the exact original, base64, under the column's name
// in the row's convstore_nul jsonb (NULL when the row needed none), so the mapping is reversible.
//
// Thread-safe (constants and pure functions).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "sqlite/value.h"

namespace convstore::sync {

enum class ColumnKind {
  kInt,     // integer -> bigint
  kReal,    // real -> double precision (the shortest text that reads back exactly)
  kText,    // text -> text
  kBool,    // 0/1 -> boolean
  kTime,    // µs since the epoch -> timestamptz
  kJson,    // JSON text -> jsonb
  kUuid,    // a UUID as text -> uuid
  kLookup,  // a source row id -> a column of that row in another PostgreSQL table (see ColumnMap)
  kEnum,    // a small integer code -> its name (ColumnMap::names)
};

struct ColumnMap {
  std::string_view source;  // the SQLite column
  std::string_view target;  // the PostgreSQL column
  ColumnKind kind = ColumnKind::kInt;
  // kLookup: the value is `pg_column` of the row of PostgreSQL table `table` (same store) whose src_id is the
  // source value; the initial load reads `sqlite_column` of SQLite table `table` instead (same row).
  std::string_view table{};
  std::string_view sqlite_column{};
  std::string_view pg_column{};
  std::vector<std::string_view> names{};  // kEnum: the name of code 0, 1, ...
};

struct TableMap {
  std::string_view source;            // the SQLite table
  std::string_view target;            // the PostgreSQL table
  std::string_view month_column{};    // partitioned by month on this source column (a kTime column)
  std::vector<ColumnMap> columns;     // the first maps the row id (`key`) to "src_id"
  std::string_view key = "id";        // the SQLite table's integer row id ("seq" for audit_log)
};

// The synced tables in load order (a table after those its rows refer to).
const std::vector<TableMap>& SyncedTables();
const TableMap* FindSyncedTable(std::string_view source);

// A value as PostgreSQL text input: nullopt for SQL NULL. A text or JSON value holding NUL comes back with the
// NUL replaced and *had_nul set. kInvalidArgument when the value is not of the column's kind (e.g. text in an
// integer column of a file edited outside convstore).
Status ToPgText(const sqlite::Value& value, const ColumnMap& column, std::optional<std::string>* out, bool* had_nul);

// The convstore_nul entry of an original value holding NUL: "column": "<base64 of the exact bytes>".
void AppendNulOriginal(std::string* json_object_members, std::string_view column, std::string_view original);

}  // namespace convstore::sync
