// Stmt: a borrowed, cached prepared statement. Binds by 1-based index, steps, reads columns by 0-based index,
// and resets itself when it goes out of scope so the cached statement can be reused.
// Not thread-safe: used by the one thread that holds its connection.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "convstore/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace convstore::sqlite {

class Stmt {
 public:
  Stmt(sqlite3_stmt* stmt, sqlite3* db) noexcept : stmt_(stmt), db_(db) {}
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_), db_(other.db_), bind_rc_(other.bind_rc_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, double value);
  Stmt& Bind(int index, std::string_view text);  // bound without copy: text must outlive the step
  Stmt& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Stmt& Bind(int index, const char* text) = delete;  // ambiguous; use string_view
  Stmt& BindNull(int index);
  Stmt& BindBlob(int index, std::string_view bytes);  // bound without copy, like Bind(text)
  Stmt& Bind(int index, const std::optional<int64_t>& value);
  Stmt& Bind(int index, const std::optional<double>& value);
  // Empty text binds NULL.
  Stmt& BindTextOrNull(int index, std::string_view text);

  // Steps once: true when a row is available, false when done.
  Result<bool> Step(std::string_view context);
  // Steps to completion, ignoring rows, then resets so the statement can be run again.
  Status Run(std::string_view context);
  // Resets after Step returned false (stepping a finished statement again would re-execute it).
  void Reset() noexcept;

  bool IsNull(int col) const noexcept;
  int64_t Int(int col) const noexcept;
  double Double(int col) const noexcept;
  std::string_view Text(int col) const noexcept;
  std::string String(int col) const { return std::string(Text(col)); }
  std::string_view Blob(int col) const noexcept;  // empty for NULL
  std::optional<int64_t> OptInt(int col) const noexcept;
  std::optional<double> OptDouble(int col) const noexcept;

 private:
  void Check(int rc) noexcept {
    if (rc != 0 && bind_rc_ == 0) bind_rc_ = rc;
  }
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_rc_ = 0;
};

}  // namespace convstore::sqlite
