#include "sync/initial_load.h"

#include <sqlite3.h>

#include <set>
#include <vector>

#include "sync/pg_schema.h"
#include "sync/table_map.h"
#include "util/status_macros.h"
#include "util/time.h"

namespace convstore::sync {
namespace {

constexpr size_t kChunkBytes = 256 * 1024;
constexpr int64_t kProgressRows = 50'000;
constexpr int64_t kCancelRows = 1'000;

// Owns a statement prepared outside the connection's cache (the load's SELECTs are built at run time).
class OwnedStmt {
 public:
  ~OwnedStmt() { sqlite3_finalize(st_); }
  Status Prepare(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK)
      return Status::Internal("preparing the load of a table: " + std::string(sqlite3_errmsg(db)));
    return Status::OK();
  }
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
};

std::string SqliteName(std::string_view name) { return "\"" + std::string(name) + "\""; }

// The SELECT that reads a table's rows as its map wants them: lookups by subquery.
std::string SelectFor(const TableMap& t) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const ColumnMap& c = t.columns[i];
    if (i) sql += ", ";
    if (c.kind == ColumnKind::kLookup)
      sql += "(SELECT " + SqliteName(c.sqlite_column) + " FROM " + SqliteName(c.table) + " WHERE id = t." +
             SqliteName(c.source) + ")";
    else
      sql += "t." + SqliteName(c.source);
  }
  return sql + " FROM " + SqliteName(t.source) + " AS t ORDER BY t." + SqliteName(t.key);
}

// COPY's text format: backslash, newline, carriage return and tab escaped; \N for NULL.
void AppendCopyField(std::string* out, const std::optional<std::string>& value) {
  if (!value) {
    *out += "\\N";
    return;
  }
  for (char c : *value) {
    switch (c) {
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default: *out += c;
    }
  }
}

Result<int64_t> CountRows(sqlite3* db, std::string_view table) {
  OwnedStmt st;
  CONVSTORE_RETURN_IF_ERROR(st.Prepare(db, "SELECT count(*) FROM " + SqliteName(table)));
  if (sqlite3_step(st.get()) != SQLITE_ROW) return Status::IoError("counting the rows of " + std::string(table));
  return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
}

// The months the rows of a partitioned table fall in (by its month column).
Result<std::set<int64_t>> MonthsOf(sqlite3* db, const TableMap& t) {
  OwnedStmt st;
  const std::string column = SqliteName(t.month_column);
  // Whole days since the epoch, rounded down (SQLite's integer division rounds toward zero).
  CONVSTORE_RETURN_IF_ERROR(st.Prepare(db, "SELECT DISTINCT " + column + " / 86400000000 - (" + column +
                                               " % 86400000000 < 0) FROM " + SqliteName(t.source)));
  std::set<int64_t> months;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    months.insert(util::MonthStartMicros(sqlite3_column_int64(st.get(), 0) * 86'400'000'000));
  if (rc != SQLITE_DONE) return Status::IoError("reading the months of " + std::string(t.source));
  return months;
}

// Streams one table through COPY. Rows that do not convert are collected in *bad.
Status CopyTable(sqlite3* db, PgConnection& pg, const std::string& q, const std::string& store_id, const TableMap& t,
                 const LoadProgress& progress, const std::function<bool()>& cancelled, LoadReport* report,
                 std::vector<std::pair<int64_t, std::string>>* bad) {
  auto total = CountRows(db, t.source);
  if (!total.ok()) return total.status();
  std::string copy = "COPY " + q + "." + QuoteIdentifier(t.target) + " (store_id";
  for (const ColumnMap& c : t.columns) copy += ", " + QuoteIdentifier(c.target);
  copy += ", convstore_nul) FROM STDIN";
  OwnedStmt st;
  CONVSTORE_RETURN_IF_ERROR(st.Prepare(db, SelectFor(t)));
  CONVSTORE_RETURN_IF_ERROR(pg.CopyBegin(copy));
  std::string buffer, line, nul;
  int64_t done = 0;
  int rc;
  Status failed;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    line = store_id;
    nul.clear();
    std::string why;
    for (size_t i = 0; i < t.columns.size() && why.empty(); ++i) {
      ColumnMap c = t.columns[i];
      if (c.kind == ColumnKind::kLookup) c.kind = ColumnKind::kText;  // the looked-up key or UUID
      const sqlite::Value v = sqlite::Value::FromColumn(st.get(), static_cast<int>(i));
      std::optional<std::string> text;
      bool had_nul = false;
      Status conv = ToPgText(v, c, &text, &had_nul);
      if (!conv.ok()) {
        why = conv.message();
        break;
      }
      if (had_nul) AppendNulOriginal(&nul, c.target, v.bytes);
      line += '\t';
      AppendCopyField(&line, text);
    }
    if (!why.empty()) {
      bad->emplace_back(sqlite3_column_int64(st.get(), 0), why);
      continue;
    }
    line += '\t';
    AppendCopyField(&line, nul.empty() ? std::nullopt : std::optional<std::string>("{" + nul + "}"));
    line += '\n';
    buffer += line;
    if (buffer.size() >= kChunkBytes) {
      failed = pg.CopyPut(buffer);
      report->bytes += static_cast<int64_t>(buffer.size());
      buffer.clear();
      if (!failed.ok()) break;
    }
    ++report->rows;
    if (++done % kProgressRows == 0 && progress) progress(t.source, done, *total);
    if (done % kCancelRows == 0 && cancelled()) {
      failed = Status::Closed("sync: the load stopped: the store is closing");
      break;
    }
  }
  if (failed.ok() && rc != SQLITE_ROW && rc != SQLITE_DONE)
    failed = Status::IoError("reading " + std::string(t.source) + ": " + sqlite3_errmsg(db));
  if (failed.ok()) {
    failed = pg.CopyPut(buffer);
    report->bytes += static_cast<int64_t>(buffer.size());
  }
  Status end = pg.CopyEnd();
  if (!failed.ok()) return failed;
  if (!end.ok()) return end;
  if (progress) progress(t.source, done, *total);
  return Status::OK();
}

// The row-by-row fallback for one table: the rows as inserts through the applier, under savepoints.
Status InsertTable(sqlite3* db, Applier& applier, const SourceColumns& columns, const TableMap& t, int64_t seq,
                   const LoadProgress& progress, const std::function<bool()>& cancelled, LoadReport* report) {
  auto total = CountRows(db, t.source);
  if (!total.ok()) return total.status();
  OwnedStmt st;
  CONVSTORE_RETURN_IF_ERROR(st.Prepare(db, "SELECT * FROM " + SqliteName(t.source) + " ORDER BY " + SqliteName(t.key)));
  SourceEntry batch;
  batch.seq = seq;
  int64_t done = 0;
  auto flush = [&]() -> Status {
    auto counts = applier.ApplyInTransaction(columns, batch);
    if (!counts.ok()) return counts.status();
    report->dead_letters += counts->dead_letters;
    report->rows += counts->changes - counts->dead_letters;
    batch.changes.clear();
    return Status::OK();
  };
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    RowChange c;
    c.table = std::string(t.source);
    c.op = kOpInsert;
    for (int i = 0, n = sqlite3_column_count(st.get()); i < n; ++i)
      c.after.push_back(sqlite::Value::FromColumn(st.get(), i));
    batch.changes.push_back(std::move(c));
    if (batch.changes.size() >= kCancelRows) {
      if (cancelled()) return Status::Closed("sync: the load stopped: the store is closing");
      CONVSTORE_RETURN_IF_ERROR(flush());
    }
    if (++done % kProgressRows == 0 && progress) progress(t.source, done, *total);
  }
  if (rc != SQLITE_DONE) return Status::IoError("reading " + std::string(t.source) + ": " + sqlite3_errmsg(db));
  CONVSTORE_RETURN_IF_ERROR(flush());
  if (progress) progress(t.source, done, *total);
  return Status::OK();
}

Status LoadInTransaction(sqlite::Connection& source, PgConnection& pg, Applier& applier, const std::string& q,
                         const std::string& store_id, const std::string& label, const LoadPosition& position,
                         const LoadProgress& progress, const std::function<bool()>& cancelled, bool row_by_row,
                         LoadReport* report) {
  *report = LoadReport{};
  report->row_by_row = row_by_row;
  CONVSTORE_RETURN_IF_ERROR(pg.Exec("BEGIN"));
  CONVSTORE_RETURN_IF_ERROR(pg.Run("INSERT INTO " + q + ".convstore_stores (store_id, label) VALUES ($1, $2) "
                                   "ON CONFLICT (store_id) DO UPDATE SET label = EXCLUDED.label",
                                   {store_id, label})
                                .status());
  CONVSTORE_RETURN_IF_ERROR(
      pg.Run("SELECT 1 FROM " + q + ".convstore_stores WHERE store_id = $1 FOR UPDATE", {store_id}).status());
  const auto& tables = SyncedTables();
  for (auto it = tables.rbegin(); it != tables.rend(); ++it)
    CONVSTORE_RETURN_IF_ERROR(
        pg.Run("DELETE FROM " + q + "." + QuoteIdentifier(it->target) + " WHERE store_id = $1", {store_id}).status());
  CONVSTORE_RETURN_IF_ERROR(
      pg.Run("DELETE FROM " + q + ".convstore_dead_letters WHERE store_id = $1", {store_id}).status());

  auto columns = ReadSourceColumns(source);
  if (!columns.ok()) return columns.status();
  std::vector<std::pair<int64_t, std::string>> bad;
  for (const TableMap& t : tables) {
    if (row_by_row) {
      CONVSTORE_RETURN_IF_ERROR(
          InsertTable(source.raw(), applier, *columns, t, position.seq, progress, cancelled, report));
      continue;
    }
    bad.clear();
    CONVSTORE_RETURN_IF_ERROR(CopyTable(source.raw(), pg, q, store_id, t, progress, cancelled, report, &bad));
    for (const auto& [row, why] : bad) {
      CONVSTORE_RETURN_IF_ERROR(
          pg.Run("INSERT INTO " + q + ".convstore_dead_letters (store_id, seq, source_table, op, src_id, change, "
                 "reason) VALUES ($1, $2, $3, 'load', $4, '{}', $5)",
                 {store_id, std::to_string(position.seq), std::string(t.source), std::to_string(row), why})
              .status());
      ++report->dead_letters;
    }
  }
  CONVSTORE_RETURN_IF_ERROR(
      applier.RecountConversations(nullptr));
  CONVSTORE_RETURN_IF_ERROR(
      pg.Run("UPDATE " + q + ".convstore_stores SET position = $2, position_committed_us = $3, "
             "position_committed_at = $4, source_schema_version = $5, loads = loads + 1, loaded_at = now(), "
             "load_position = $2, synced_at = now() WHERE store_id = $1",
             {store_id, std::to_string(position.seq), std::to_string(position.committed_at),
              position.committed_at ? std::optional<std::string>(util::FormatIso8601(position.committed_at))
                                    : std::nullopt,
              std::to_string(position.schema_version)})
          .status());
  return pg.Exec("COMMIT");
}

}  // namespace

Result<LoadReport> LoadStore(sqlite::Connection& source, PgConnection& pg, Applier& applier, const std::string& schema,
                             const std::string& store_id, const std::string& label, const LoadPosition& position,
                             const LoadProgress& progress, const std::function<bool()>& cancelled) {
  for (const TableMap& t : SyncedTables()) {
    if (t.month_column.empty()) continue;
    auto months = MonthsOf(source.raw(), t);
    if (!months.ok()) return months.status();
    CONVSTORE_RETURN_IF_ERROR(applier.EnsureMonths(t.target, *months));
  }
  const std::string q = QuoteIdentifier(schema);
  LoadReport report;
  Status s = LoadInTransaction(source, pg, applier, q, store_id, label, position, progress, cancelled, false, &report);
  if (s.ok()) return report;
  const bool refused = IsRowRefusal(pg.sqlstate());
  if (pg.healthy()) (void)pg.Exec("ROLLBACK");
  if (!refused) return s;
  s = LoadInTransaction(source, pg, applier, q, store_id, label, position, progress, cancelled, true, &report);
  if (!s.ok()) {
    if (pg.healthy()) (void)pg.Exec("ROLLBACK");
    return s;
  }
  return report;
}

}  // namespace convstore::sync
