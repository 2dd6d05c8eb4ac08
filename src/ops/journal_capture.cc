#include "ops/journal_capture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "ops/journal.h"
#include "ops/journal_tables.h"
#include "sqlite/error.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

void AppendKey(std::string& out, const Value& v) {
  out.push_back(static_cast<char>(v.type));
  if (v.type == Value::kInteger) {
    out.append(reinterpret_cast<const char*>(&v.i), sizeof v.i);
  } else if (v.type == Value::kFloat) {
    out.append(reinterpret_cast<const char*>(&v.f), sizeof v.f);
  } else if (v.type == Value::kText || v.type == Value::kBlob) {
    const uint64_t n = v.bytes.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(v.bytes);
  }
}

}  // namespace

Result<std::unique_ptr<JournalCapture>> JournalCapture::Attach(sqlite::Connection& conn, Clock now) {
  std::unique_ptr<JournalCapture> capture(new JournalCapture(conn, std::move(now)));
  CONVSTORE_RETURN_IF_ERROR(capture->LoadTables());
  sqlite3_preupdate_hook(conn.raw(), &JournalCapture::Hook, capture.get());
  conn.SetObserver(capture.get());
  return capture;
}

JournalCapture::~JournalCapture() {
  if (conn_.observer() == this) conn_.SetObserver(nullptr);
  sqlite3_preupdate_hook(conn_.raw(), nullptr, nullptr);
  ClearTables();
}

void JournalCapture::ClearTables() {
  for (Table& t : tables_) sqlite3_finalize(t.select);
  tables_.clear();
}

Status JournalCapture::LoadTables() {
  // Loaded in place: on failure the tables loaded so far stay in tables_ (the destructor finalizes their
  // statements) and the cookie stays unset, so the next transaction loads them again.
  ClearTables();
  schema_cookie_ = -1;
  auto cookie = conn_.QueryInt("PRAGMA schema_version", "journal: read the schema cookie");
  if (!cookie.ok()) return cookie.status();
  auto version = conn_.QueryInt("SELECT coalesce(max(version), 0) FROM schema_migrations", "journal: schema version");
  if (!version.ok()) return version.status();
  for (std::string_view name : JournaledTables()) {
    tables_.emplace_back();
    Table& t = tables_.back();
    t.name = std::string(name);
    std::vector<std::pair<int, int>> pk_order;  // (position in the key, column)
    std::vector<std::string> names;
    sqlite3_stmt* info = nullptr;
    const std::string pragma = fmt::format("SELECT name, pk FROM pragma_table_info('{}')", t.name);
    int rc = sqlite3_prepare_v2(conn_.raw(), pragma.c_str(), -1, &info, nullptr);
    if (rc != SQLITE_OK) return sqlite::FromSqlite(rc, conn_.raw(), "journal: read table columns");
    while ((rc = sqlite3_step(info)) == SQLITE_ROW) {
      const char* col = reinterpret_cast<const char*>(sqlite3_column_text(info, 0));
      const int pk = sqlite3_column_int(info, 1);
      if (pk > 0) pk_order.emplace_back(pk, static_cast<int>(names.size()));
      t.pk.push_back(pk > 0);
      names.emplace_back(col ? col : "");
    }
    sqlite3_finalize(info);
    if (rc != SQLITE_DONE) return sqlite::FromSqlite(rc, conn_.raw(), "journal: read table columns");
    if (names.empty()) {  // a table of a later schema version (the open-time schema check vouches for the rest)
      tables_.pop_back();
      continue;
    }
    if (pk_order.empty())
      return Status::Corruption(fmt::format("journal: table '{}' is missing or has no primary key", t.name));
    std::sort(pk_order.begin(), pk_order.end());
    std::string columns, where;
    for (const std::string& column : names) columns += (columns.empty() ? "" : ", ") + QuotedName(column);
    for (size_t k = 0; k < pk_order.size(); ++k) {
      t.pk_columns.push_back(pk_order[k].second);
      where += fmt::format("{}{} = ?{}", k > 0 ? " AND " : "", QuotedName(names[pk_order[k].second]), k + 1);
    }
    // A rowid table keyed by INTEGER PRIMARY KEY has no index for its key; other keys have one of origin 'pk'.
    auto key_index = conn_.QueryIntUncached(
        fmt::format("SELECT count(*) FROM pragma_index_list('{}') WHERE origin = 'pk'", t.name), "journal: read the key");
    if (!key_index.ok()) return key_index.status();
    t.rowid_key = key_index->value_or(0) == 0;
    const std::string select = fmt::format("SELECT {} FROM {} WHERE {}", columns, QuotedName(t.name), where);
    rc = sqlite3_prepare_v3(conn_.raw(), select.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &t.select, nullptr);
    if (rc != SQLITE_OK) return sqlite::FromSqlite(rc, conn_.raw(), "journal: prepare the row reader");
  }
  schema_cookie_ = cookie->value_or(0);
  schema_version_ = version->value_or(0);
  return Status::OK();
}

Status JournalCapture::Begin(sqlite::Connection& conn) {
  active_ = false;
  touched_any_ = false;
  hook_error_ = Status::OK();
  // One read per transaction: the schema cookie (a migration by another process changes the tables' columns:
  // read them again) and the switch.
  // Two cached statements: the pragma_schema_version table function would prepare a PRAGMA statement inside every
  // run (about 2% of a single add_message).
  auto cookie = conn.QueryInt("PRAGMA schema_version", "journal: read the schema cookie");
  if (!cookie.ok()) return cookie.status();
  auto switch_row = conn.QueryRow("SELECT enabled FROM journal_state WHERE id = 1", "journal: read the switch",
                                  [](const sqlite::Stmt& st) { return st.IsNull(0) || st.Int(0) != 0; });
  if (!switch_row.ok()) return switch_row.status();
  const bool enabled = switch_row->value_or(true);
  if (cookie->value_or(0) != schema_cookie_) CONVSTORE_RETURN_IF_ERROR(LoadTables());
  active_ = enabled;
  return Status::OK();
}

void JournalCapture::Hook(void* self, sqlite3* db, int op, const char* db_name, const char* table,
                          sqlite3_int64 old_rowid, sqlite3_int64 new_rowid) {
  auto* capture = static_cast<JournalCapture*>(self);
  if (!capture->active_ || db != capture->conn_.raw() || std::strcmp(db_name, "main") != 0) return;
  try {
    capture->OnChange(op, table, old_rowid, new_rowid);
  } catch (const std::exception& e) {  // no memory: the commit fails instead
    if (capture->hook_error_.ok()) capture->hook_error_ = Status::Internal(fmt::format("journal: {}", e.what()));
  }
}

void JournalCapture::OnChange(int op, const char* table, sqlite3_int64 old_rowid, sqlite3_int64 new_rowid) {
  Table* t = nullptr;
  for (Table& candidate : tables_)
    if (candidate.name == table) {
      t = &candidate;
      break;
    }
  if (t == nullptr) return;
  if (op == SQLITE_INSERT) {
    Touch(*t, /*old_image=*/false, /*existed=*/false);
  } else if (op == SQLITE_DELETE) {
    Touch(*t, /*old_image=*/true, /*existed=*/true);
  } else {
    Touch(*t, /*old_image=*/true, /*existed=*/true);
    // A changed primary key moves the row: the new key is a row that did not exist before. (Rowid tables say so
    // through the rowids; a WITHOUT ROWID table's key columns are compared.)
    bool moved = t->rowid_key && old_rowid != new_rowid;  // rowids are undefined for other keys
    if (!t->rowid_key && sqlite3_preupdate_count(conn_.raw()) == static_cast<int>(t->pk.size())) {
      for (int c : t->pk_columns) {
        sqlite3_value* before = nullptr;
        sqlite3_value* after = nullptr;
        sqlite3_preupdate_old(conn_.raw(), c, &before);
        sqlite3_preupdate_new(conn_.raw(), c, &after);
        if (!(Value::From(before) == Value::From(after))) moved = true;
      }
    }
    if (moved) Touch(*t, /*old_image=*/false, /*existed=*/false);
  }
}

void JournalCapture::Touch(Table& t, bool old_image, bool existed) {
  sqlite3* db = conn_.raw();
  if (sqlite3_preupdate_count(db) != static_cast<int>(t.pk.size())) {
    if (hook_error_.ok())
      hook_error_ = Status::Corruption(fmt::format("journal: table '{}' changed shape under the open store", t.name));
    return;
  }
  Row row;
  std::string encoded;
  for (int c : t.pk_columns) {
    sqlite3_value* v = nullptr;
    if (old_image) sqlite3_preupdate_old(db, c, &v);
    else sqlite3_preupdate_new(db, c, &v);
    row.key.push_back(Value::From(v));
    AppendKey(encoded, row.key.back());
  }
  if (t.touched.count(encoded) != 0) return;  // the first touch keeps the row's state before the transaction
  row.existed = existed;
  if (existed) {
    row.before.reserve(t.pk.size());
    for (int c = 0; c < static_cast<int>(t.pk.size()); ++c) {
      sqlite3_value* v = nullptr;
      sqlite3_preupdate_old(db, c, &v);
      row.before.push_back(Value::From(v));
    }
  }
  t.touched.emplace(std::move(encoded), t.rows.size());
  t.rows.push_back(std::move(row));
  touched_any_ = true;
}

Status JournalCapture::WriteChanges(ChangesetWriter& out) {
  std::vector<Value> after;
  for (Table& t : tables_) {
    if (t.rows.empty()) continue;
    const size_t header_at = out.size();
    out.BeginTable(t.name, t.pk);
    const size_t changes_at = out.size();
    for (const Row& row : t.rows) {
      sqlite3_reset(t.select);
      for (size_t k = 0; k < row.key.size(); ++k) {
        const int rc = BindValue(t.select, static_cast<int>(k) + 1, row.key[k]);
        if (rc != SQLITE_OK) return sqlite::FromSqlite(rc, conn_.raw(), "journal: bind a key");
      }
      const int rc = sqlite3_step(t.select);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        Status s = sqlite::FromSqlite(rc, conn_.raw(), fmt::format("journal: read a row of {}", t.name));
        sqlite3_reset(t.select);
        return s;
      }
      const bool exists = rc == SQLITE_ROW;
      if (exists) {
        after.clear();
        for (int c = 0; c < static_cast<int>(t.pk.size()); ++c) after.push_back(Value::FromColumn(t.select, c));
      }
      sqlite3_reset(t.select);
      if (row.existed && exists) out.Update(row.before, after, t.pk, withhold_);
      else if (exists) out.Insert(after);
      else if (row.existed) out.Delete(row.before, t.pk, withhold_);
    }
    sqlite3_clear_bindings(t.select);
    if (out.size() == changes_at) out.Truncate(header_at);  // nothing changed in this table after all
  }
  return Status::OK();
}

Status JournalCapture::BeforeCommit(sqlite::Connection& conn) {
  CONVSTORE_RETURN_IF_ERROR(hook_error_);
  if (!active_ || !touched_any_) return Status::OK();
  ChangesetWriter out;
  CONVSTORE_RETURN_IF_ERROR(WriteChanges(out));
  if (out.empty()) return Status::OK();  // only derived tables changed, or rows were put back as they were
  const std::string changes = out.Take();
  return AppendEntry(conn, withhold_ ? EntryKind::kErasure : EntryKind::kChanges, now_(),
                     static_cast<int>(schema_version_), changes);
}

void JournalCapture::End() noexcept {
  active_ = false;
  withhold_ = false;
  if (!touched_any_) return;
  touched_any_ = false;
  for (Table& t : tables_) {
    t.touched.clear();
    t.rows.clear();
  }
}

}  // namespace convstore::ops
