// Checks of a convstore file after a fault, through a raw SQLite connection of its own (not the library's):
// PRAGMA integrity_check, foreign keys, and the invariants the library promises (counters equal a recount over the
// messages, positions 0..n-1 without gaps).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct sqlite3;

namespace fault_check {

// A read-only raw connection to a database file.
class RawDb {
 public:
  explicit RawDb(const std::string& path);
  ~RawDb();
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  bool ok() const { return db_ != nullptr && error_.empty(); }
  const std::string& error() const { return error_; }

  // The first column of every row of `sql`, as text ("NULL" for NULL), with `params` bound as text ?1, ?2, ...
  // Throws std::runtime_error on an SQL error.
  std::vector<std::string> Column(const std::string& sql, const std::vector<std::string>& params = {});
  // The single integer `sql` returns (-1 for no row or NULL).
  int64_t Int(const std::string& sql, const std::vector<std::string>& params = {});

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

// "ok", or what PRAGMA integrity_check reported (or why it could not run).
std::string IntegrityCheck(RawDb& db);

// One line per broken invariant; empty when the file is consistent:
//  - PRAGMA foreign_key_check finds nothing;
//  - every conversation's message_count, next_position, four token totals and cost equal a recount over its
//    messages;
//  - every conversation's message positions are exactly 0..n-1.
std::vector<std::string> CheckInvariants(RawDb& db);

}  // namespace fault_check
