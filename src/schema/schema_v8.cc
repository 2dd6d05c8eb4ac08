// Migration 8: metrics (src/ops/metrics.h, docs/monitoring.md) — the seed schema's metrics table: type, name, value,
// unit, labels (a flat JSON object) and the time measured. Rows are appended in recording order (time order when
// recorded live); an index on `at` serves retention's range delete, and one on (name, at, value) answers a
// metric's range without reading the table. Journaled, with the foreign-write triggers of migration 6.
#include <string>

#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV8Tables = R"sql(
CREATE TABLE metrics (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  unit TEXT NOT NULL,
  labels TEXT NOT NULL
);
CREATE INDEX metrics_at ON metrics(at);
CREATE INDEX metrics_name_at ON metrics(name, at, value);
)sql";

}  // namespace

Migration SchemaV8() {
  static const std::string sql = std::string(kSchemaV8Tables) + ForeignWriteTriggers({"metrics"});
  return {8, "metrics", sql.c_str()};
}

}  // namespace convstore::schema
