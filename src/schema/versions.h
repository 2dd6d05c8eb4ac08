// The schema versions this build ships, one file each (schema_vN.cc): the version's SQL and, with it, its C++ step
// (a backfill of derived tables, done through the engine that owns them).
#pragma once
#include <initializer_list>
#include <string>

#include "schema/migrations.h"

namespace convstore::schema {

Migration SchemaV1();
Migration SchemaV2();
Migration SchemaV3();
Migration SchemaV4();
Migration SchemaV5();
Migration SchemaV6();
Migration SchemaV7();
Migration SchemaV8();
Migration SchemaV9();
Migration SchemaV10();
Migration SchemaV11();
Migration SchemaV12();
Migration SchemaV13();
Migration SchemaV14();

// The triggers that mark a write by another program to a journaled table with a foreign-write journal entry
// (migration 6 made them for its tables; a later version adds those of the tables it creates).
std::string ForeignWriteTriggers(std::initializer_list<const char*> tables);

}  // namespace convstore::schema
