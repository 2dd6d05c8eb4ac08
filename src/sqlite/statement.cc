#include "sqlite/statement.h"

#include <sqlite3.h>

#include "sqlite/error.h"

namespace convstore::sqlite {

Stmt::~Stmt() {
  if (stmt_ != nullptr) sqlite3_reset(stmt_);
}

Stmt& Stmt::Bind(int index, int64_t value) {
  Check(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}
Stmt& Stmt::BindBlob(int index, std::string_view bytes) {
  Check(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC));
  return *this;
}
std::string_view Stmt::Blob(int col) const noexcept {
  const void* data = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (data == nullptr || n <= 0) return {};
  return std::string_view(static_cast<const char*>(data), static_cast<size_t>(n));
}
Stmt& Stmt::Bind(int index, double value) {
  Check(sqlite3_bind_double(stmt_, index, value));
  return *this;
}
Stmt& Stmt::Bind(int index, std::string_view text) {
  // A non-null pointer even for "" so SQLite binds an empty string rather than NULL.
  Check(sqlite3_bind_text64(stmt_, index, text.data() != nullptr ? text.data() : "", text.size(), SQLITE_STATIC,
                            SQLITE_UTF8));
  return *this;
}
Stmt& Stmt::BindNull(int index) {
  Check(sqlite3_bind_null(stmt_, index));
  return *this;
}
Stmt& Stmt::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}
Stmt& Stmt::Bind(int index, const std::optional<double>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}
Stmt& Stmt::BindTextOrNull(int index, std::string_view text) {
  return text.empty() ? BindNull(index) : Bind(index, text);
}

Result<bool> Stmt::Step(std::string_view context) {
  if (bind_rc_ != 0) return FromSqlite(bind_rc_, db_, context);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return FromSqlite(rc, db_, context);
}

Status Stmt::Run(std::string_view context) {
  for (;;) {
    auto r = Step(context);
    if (!r.ok()) return r.status();
    if (!*r) break;
  }
  sqlite3_reset(stmt_);  // ready to be bound and run again (bindings are kept)
  return Status::OK();
}

void Stmt::Reset() noexcept { sqlite3_reset(stmt_); }

bool Stmt::IsNull(int col) const noexcept { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t Stmt::Int(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const noexcept { return sqlite3_column_double(stmt_, col); }
std::string_view Stmt::Text(int col) const noexcept {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}
std::optional<int64_t> Stmt::OptInt(int col) const noexcept {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}
std::optional<double> Stmt::OptDouble(int col) const noexcept {
  if (IsNull(col)) return std::nullopt;
  return Double(col);
}

}  // namespace convstore::sqlite
