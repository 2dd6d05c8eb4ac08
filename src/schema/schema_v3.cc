// Migration 3: the metadata index — posting lists over the metadata documents of conversations, messages and API
// usage (layout in src/metadata/index.h), backfilled from the rows already in the file.
#include "metadata/index.h"
#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV3 = R"sql(
-- Posting lists as blocks of up to 48 packed positions (at, obj) (src/metadata/posting_blocks.h). A sealed block is
-- keyed by its largest position; the newest ("open") block by (9223372036854775807, 0), with the list's length in n.
CREATE TABLE metadata_postings (
  kind INTEGER NOT NULL,
  term TEXT NOT NULL,
  at INTEGER NOT NULL,
  obj INTEGER NOT NULL,
  n INTEGER,
  entries BLOB NOT NULL,
  PRIMARY KEY (kind, term, at, obj)
) WITHOUT ROWID;

-- Documents beyond the indexing limits: searches check each of them.
CREATE TABLE metadata_unindexed (
  kind INTEGER NOT NULL,
  at INTEGER NOT NULL,
  obj INTEGER NOT NULL,
  PRIMARY KEY (kind, at, obj)
) WITHOUT ROWID;

-- Rows with id <= indexed_upto are in the posting lists; newer ones are read directly by searches.
CREATE TABLE metadata_index (
  kind INTEGER PRIMARY KEY,
  indexed_upto INTEGER NOT NULL
);
)sql";

Status AfterSchemaV3(sqlite::Connection& conn, const MigrationContext& context) {
  return metadata::Rebuild(conn, {}, context.progress, /*unindexed_scoped=*/false);
}

}  // namespace

Migration SchemaV3() { return {3, "metadata index", kSchemaV3, AfterSchemaV3}; }

}  // namespace convstore::schema
