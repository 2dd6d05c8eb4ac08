// Checking a file's schema against what convstore's migrations create, before anything else reads or writes it.
//
// The reference is built once per process and version: the migrations' SQL run on an in-memory database. A file
// at version v must have exactly those objects (same type, same SQL, so no dropped table or column and no table
// replaced by a view); besides them it may hold an application's own tables with their indexes and triggers, but
// nothing attached to convstore's tables — no trigger on them (it would run inside convstore's writes), no index
// on them convstore did not create, no view reading them. Anything else is kCorruption naming each problem.
//
// Thread-safe (the reference cache is guarded); the check runs on the caller's connection.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "convstore/status.h"
#include "schema/migrations.h"
#include "sqlite/connection.h"

namespace convstore::schema {

// One row of sqlite_schema.
struct SchemaObject {
  std::string type, name, table, sql;
};

// What migrations up to `version` create (plus schema_migrations): sqlite_schema rows and each table's columns.
struct ReferenceSchema {
  std::vector<SchemaObject> objects;
  std::map<std::string, std::vector<std::string>> columns;  // by table name
};
Result<ReferenceSchema> BuildReferenceSchema(const std::vector<Migration>& migrations, int version);

// Compares the file on `conn` (at `version`) with the reference: OK, or kCorruption listing what is wrong.
Status CheckSchema(sqlite::Connection& conn, const std::vector<Migration>& migrations, int version);

}  // namespace convstore::schema
