// Value: one SQLite value held by copy (integer, real, text, blob, NULL, or undefined: absent from a changeset
// record), as the change journal records rows and the sync reads them. Plain value; no thread-safety concerns.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3_value;
struct sqlite3_stmt;

namespace convstore::sqlite {

struct Value {
  enum Type : uint8_t { kUndefined = 0, kInteger = 1, kFloat = 2, kText = 3, kBlob = 4, kNull = 5 };
  Type type = kUndefined;
  int64_t i = 0;
  double f = 0;
  std::string bytes;  // text or blob

  static Value Null() { return Value{kNull}; }
  static Value Text(std::string_view text) { return Value{kText, 0, 0, std::string(text)}; }
  static Value From(sqlite3_value* v);            // a copy of an SQLite value (NULL pointer: undefined)
  static Value FromColumn(sqlite3_stmt* st, int col);
  bool operator==(const Value& o) const;
};

// Binds `v` to parameter `index` of `st` (text and blobs without copy: `v` must outlive the step); an SQLite code.
int BindValue(sqlite3_stmt* st, int index, const Value& v);

}  // namespace convstore::sqlite
