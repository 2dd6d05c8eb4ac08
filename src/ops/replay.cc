#include "ops/replay.h"

#include <fmt/format.h>

#include "sqlite/error.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

std::string KeyText(const Change& c, const std::vector<std::string>& columns) {
  std::string out;
  const std::vector<Value>& row = c.op == SQLITE_INSERT ? c.after : c.before;
  for (size_t k = 0; k < c.pk->size(); ++k) {
    if (!(*c.pk)[k]) continue;
    const Value& v = row[k];
    out += fmt::format("{}{}=", out.empty() ? "" : ", ", k < columns.size() ? columns[k] : "?");
    if (v.type == Value::kInteger) out += std::to_string(v.i);
    else if (v.type == Value::kText) out += "'" + v.bytes.substr(0, 64) + "'";
    else out += "...";
  }
  return out;
}

}  // namespace

Replayer::~Replayer() {
  for (auto& [name, t] : tables_) {
    sqlite3_finalize(t.insert);
    sqlite3_finalize(t.remove);
    for (auto& [mask, st] : t.updates) sqlite3_finalize(st);
  }
}

Result<Replayer::Table*> Replayer::TableFor(std::string_view name, const std::vector<bool>& pk) {
  auto it = tables_.find(name);
  if (it == tables_.end()) {
    Table t;
    auto rows = conn_.ForEachRow("SELECT name, pk FROM pragma_table_info(?1)", "replay: read table columns",
                                 [&](const sqlite::Stmt& st) {
                                   t.columns.push_back(st.String(0));
                                   t.pk.push_back(st.Int(1) > 0);
                                   return true;
                                 },
                                 name);
    if (!rows.ok()) return rows.status();
    if (t.columns.empty()) return Status::Corruption(fmt::format("replay: the copy has no table '{}'", name));
    std::string cols, params;
    for (size_t c = 0; c < t.columns.size(); ++c) {
      cols += (c ? ", " : "") + QuotedName(t.columns[c]);
      params += fmt::format("{}?{}", c ? ", " : "", c + 1);
    }
    const std::string insert = fmt::format("INSERT INTO {}({}) VALUES ({})", QuotedName(name), cols, params);
    std::string where;
    for (size_t c = 0; c < t.columns.size(); ++c)
      where += fmt::format("{}{} IS ?{}", c ? " AND " : "", QuotedName(t.columns[c]), c + 1);
    const std::string remove = fmt::format("DELETE FROM {} WHERE {}", QuotedName(name), where);
    int rc = sqlite3_prepare_v3(conn_.raw(), insert.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &t.insert, nullptr);
    if (rc == SQLITE_OK)
      rc = sqlite3_prepare_v3(conn_.raw(), remove.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &t.remove, nullptr);
    it = tables_.emplace(std::string(name), std::move(t)).first;  // owned from here: the destructor finalizes
    if (rc != SQLITE_OK) return sqlite::FromSqlite(rc, conn_.raw(), fmt::format("replay: prepare for '{}'", name));
  }
  Table& t = it->second;
  if (t.pk != pk)
    return Status::Corruption(fmt::format(
        "replay: table '{}' has {} columns in the copy but {} in the journal (a schema change between them)", name,
        t.columns.size(), pk.size()));
  return &t;
}

Status Replayer::Step(sqlite3_stmt* st, int64_t seq, const Change& c, const char* what) {
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  auto* t = &tables_.find(c.table)->second;
  if (rc != SQLITE_DONE) {
    Status s = sqlite::FromSqlite(rc, conn_.raw(), fmt::format("replay: entry {}: {} {} ({})", seq, what,
                                                               std::string(c.table), KeyText(c, t->columns)));
    // A constraint failure is the copy disagreeing with the journal, not an I/O problem.
    if ((rc & 0xFF) == SQLITE_CONSTRAINT) return Status::Corruption(s.message());
    return s;
  }
  if (sqlite3_changes64(conn_.raw()) != 1)
    return Status::Corruption(fmt::format(
        "replay: entry {}: {} {} ({}) found the row not as the journal recorded it: the copy is not the state the "
        "journal continues from",
        seq, what, std::string(c.table), KeyText(c, t->columns)));
  ++applied_;
  return Status::OK();
}

Status Replayer::ApplyOne(int64_t seq, const Change& c) {
  auto table = TableFor(c.table, *c.pk);
  if (!table.ok()) return table.status();
  Table& t = **table;
  const size_t n = t.columns.size();
  if (c.op == SQLITE_INSERT) {
    for (size_t k = 0; k < n; ++k) BindValue(t.insert, static_cast<int>(k) + 1, c.after[k]);
    return Step(t.insert, seq, c, "insert into");
  }
  if (c.op == SQLITE_DELETE) {
    for (size_t k = 0; k < n; ++k) BindValue(t.remove, static_cast<int>(k) + 1, c.before[k]);
    return Step(t.remove, seq, c, "delete from");
  }
  // An update: SET the columns with a new value, WHERE the key and each such column's old value.
  std::vector<bool> sets(n, false);
  for (size_t k = 0; k < n; ++k) sets[k] = c.after[k].type != Value::kUndefined;
  sqlite3_stmt*& st = t.updates[sets];
  if (st == nullptr) {
    std::string set, where;
    int p = 0;
    for (size_t k = 0; k < n; ++k)
      if (sets[k]) set += fmt::format("{}{} = ?{}", set.empty() ? "" : ", ", QuotedName(t.columns[k]), ++p);
    for (size_t k = 0; k < n; ++k)
      if (t.pk[k] || sets[k])
        where += fmt::format("{}{} IS ?{}", where.empty() ? "" : " AND ", QuotedName(t.columns[k]), ++p);
    const std::string sql = fmt::format("UPDATE {} SET {} WHERE {}", QuotedName(c.table), set, where);
    const int rc = sqlite3_prepare_v3(conn_.raw(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) return sqlite::FromSqlite(rc, conn_.raw(), "replay: prepare an update");
  }
  int p = 0;
  for (size_t k = 0; k < n; ++k)
    if (sets[k]) BindValue(st, ++p, c.after[k]);
  for (size_t k = 0; k < n; ++k)
    if (t.pk[k] || sets[k]) BindValue(st, ++p, c.before[k]);
  return Step(st, seq, c, "update");
}

Status Replayer::Apply(int64_t seq, std::string_view changeset) {
  Status failed;
  std::string error;
  const bool ok = ReadChangeset(changeset, &error, [&](const Change& c) {
    failed = ApplyOne(seq, c);
    return failed.ok();
  });
  CONVSTORE_RETURN_IF_ERROR(failed);
  if (!ok) return Status::Corruption(fmt::format("replay: entry {} does not decode ({})", seq, error));
  return Status::OK();
}

}  // namespace convstore::ops
