#include "sqlite/value.h"

#include <sqlite3.h>

#include <cstring>

namespace convstore::sqlite {
namespace {

Value Copy(int type, int64_t i, double f, const void* bytes, int n) {
  Value v;
  switch (type) {
    case SQLITE_INTEGER: v.type = Value::kInteger; v.i = i; break;
    case SQLITE_FLOAT: v.type = Value::kFloat; v.f = f; break;
    case SQLITE_TEXT: v.type = Value::kText; break;
    case SQLITE_BLOB: v.type = Value::kBlob; break;
    default: v.type = Value::kNull; break;
  }
  if ((v.type == Value::kText || v.type == Value::kBlob) && n > 0) v.bytes.assign(static_cast<const char*>(bytes), n);
  return v;
}

}  // namespace

Value Value::From(sqlite3_value* v) {
  if (v == nullptr) return Value{};
  const int type = sqlite3_value_type(v);
  if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
    const void* p = type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_value_text(v)) : sqlite3_value_blob(v);
    return Copy(type, 0, 0, p, sqlite3_value_bytes(v));
  }
  return Copy(type, sqlite3_value_int64(v), sqlite3_value_double(v), nullptr, 0);
}

Value Value::FromColumn(sqlite3_stmt* st, int col) {
  const int type = sqlite3_column_type(st, col);
  if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
    const void* p = type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_column_text(st, col))
                                        : sqlite3_column_blob(st, col);
    return Copy(type, 0, 0, p, sqlite3_column_bytes(st, col));
  }
  return Copy(type, sqlite3_column_int64(st, col), sqlite3_column_double(st, col), nullptr, 0);
}

bool Value::operator==(const Value& o) const {
  if (type != o.type) return false;
  switch (type) {
    case kInteger: return i == o.i;
    case kFloat: return std::memcmp(&f, &o.f, sizeof f) == 0;
    case kText:
    case kBlob: return bytes == o.bytes;
    default: return true;
  }
}

int BindValue(sqlite3_stmt* st, int index, const Value& v) {
  switch (v.type) {
    case Value::kInteger: return sqlite3_bind_int64(st, index, v.i);
    case Value::kFloat: return sqlite3_bind_double(st, index, v.f);
    case Value::kText:
      return sqlite3_bind_text64(st, index, v.bytes.data(), v.bytes.size(), SQLITE_STATIC, SQLITE_UTF8);
    case Value::kBlob: return sqlite3_bind_blob64(st, index, v.bytes.data(), v.bytes.size(), SQLITE_STATIC);
    default: return sqlite3_bind_null(st, index);
  }
}

}  // namespace convstore::sqlite
