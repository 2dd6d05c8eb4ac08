// Migration 6: the change journal (src/ops/journal.h, journal_capture.h).
// - change_journal: one entry per committed transaction (seq = commit order), its commit time, kind, the schema
//   version it was recorded in and its changes as a SQLite changeset. A partial index finds the marker entries
//   (foreign writes, the journal switched off or on, migrations, restores) without scanning.
// - journal_state: the switch (on for every file, new or migrated: docs/operations.md says why) and the retention.
// - journal_consumers: readers whose position retention must respect (the archiver, a sync).
// - Triggers on every journaled table that mark a write made by another program with a foreign-write entry (one
//   per run of such writes). convstore's connections run no triggers (SQLITE_DBCONFIG_ENABLE_TRIGGER off), so its
//   own writes never fire them; they are journaled by the writer instead.
#include <string>

#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV6Tables = R"sql(
CREATE TABLE change_journal (
  seq INTEGER PRIMARY KEY,
  committed_at INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  schema_version INTEGER NOT NULL,
  changes BLOB
);
CREATE INDEX change_journal_markers ON change_journal(seq) WHERE kind <> 0;
CREATE TABLE journal_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  enabled INTEGER NOT NULL,
  format INTEGER NOT NULL,
  max_age_us INTEGER,
  max_bytes INTEGER
);
INSERT INTO journal_state(id, enabled, format) VALUES (1, 1, 1);
CREATE TABLE journal_consumers (
  name TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// The tables journaled at version 6 (a later version adds the triggers of the tables it creates).
constexpr std::initializer_list<const char*> kJournaledAtV6 = {"schema_migrations", "meta",      "teams",   "users",
                                          "conversations",     "messages",  "tool_calls", "message_tombstones",
                                          "prices",            "api_usage", "budgets", "budget_reservations"};

constexpr const char* kMarkForeignWrite =
    " WHEN (SELECT kind FROM change_journal ORDER BY seq DESC LIMIT 1) IS NOT 1 BEGIN"
    " INSERT INTO change_journal(seq, committed_at, kind, schema_version)"
    " SELECT coalesce(max(seq), 0) + 1,"
    " max(coalesce((SELECT committed_at FROM change_journal ORDER BY seq DESC LIMIT 1), 0),"
    " CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)),"
    " 1, (SELECT coalesce(max(version), 0) FROM schema_migrations) FROM change_journal; END;\n";

std::string SchemaV6Sql() {
  std::string sql = kSchemaV6Tables + ForeignWriteTriggers(kJournaledAtV6);
  for (const char* op : {"UPDATE", "DELETE"})
    sql += std::string("CREATE TRIGGER journal_foreign_change_journal_") + op + " AFTER " + op +
           " ON change_journal" + kMarkForeignWrite;
  return sql;
}

}  // namespace

std::string ForeignWriteTriggers(std::initializer_list<const char*> tables) {
  std::string sql;
  for (const char* table : tables)
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
      sql += std::string("CREATE TRIGGER journal_foreign_") + table + "_" + op + " AFTER " + op + " ON " + table +
             kMarkForeignWrite;
  return sql;
}

Migration SchemaV6() {
  static const std::string sql = SchemaV6Sql();
  return {6, "change journal", sql.c_str()};
}

}  // namespace convstore::schema
