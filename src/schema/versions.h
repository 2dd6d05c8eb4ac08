// The schema versions this build ships, one file each (schema_vN.cc): the version's SQL and, with it, its C++ step
// (a backfill of derived tables, done through the engine that owns them).
#pragma once
#include "schema/migrations.h"

namespace convstore::schema {

Migration SchemaV1();
Migration SchemaV2();
Migration SchemaV3();
Migration SchemaV4();
Migration SchemaV5();
Migration SchemaV6();

}  // namespace convstore::schema
