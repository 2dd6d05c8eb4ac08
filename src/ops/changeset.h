// Changesets in SQLite's session-extension format, written from values the change journal captured.
//
// The format (SQLite's ext/session/sqlite3session.c, "CHANGESET FORMAT"): per table a header — 'T', the column
// count as a varint, one byte per column (1 for a primary-key column), the table name NUL-terminated — then its
// changes: an operation byte (SQLITE_INSERT 0x12, SQLITE_UPDATE 0x17, SQLITE_DELETE 0x09), an indirect flag, and
// the old record (delete, update) and/or new record (insert, update). A record holds one field per column: a type
// byte (0 undefined, 1 integer, 2 real, 3 text, 4 blob, 5 NULL), then 8 big-endian bytes for integers and reals,
// or a varint length and the bytes for text and blobs. In an update, the old record holds the primary key and the
// old values of the columns that changed, the new record their new values; everything else is undefined.
// Because the bytes are SQLite's own format, sqlite3changeset_start reads them and sqlite3changeset_apply (or
// sqlite3changeset_invert) works on them.
//
// Not thread-safe; plain values.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite/value.h"

namespace convstore::ops {

// One field of a record.
using Value = sqlite::Value;
using sqlite::BindValue;

// A table or column name as an SQL identifier ("name").
std::string QuotedName(std::string_view name);

class ChangesetWriter {
 public:
  // Starts the changes of a table; `pk` has one flag per column.
  void BeginTable(std::string_view name, const std::vector<bool>& pk);
  void Insert(const std::vector<Value>& row);
  // `withhold`: the old record keeps its primary-key fields and holds NULL for every other column (an erasure's
  // entry: what it removed is not written again).
  void Delete(const std::vector<Value>& row, const std::vector<bool>& pk, bool withhold = false);
  // `before` and `after` are whole rows; fields equal in both are written undefined (primary-key fields of the
  // old record excepted); `withhold` writes the changed columns' old values as NULL. Returns false, writing
  // nothing, when no column differs.
  bool Update(const std::vector<Value>& before, const std::vector<Value>& after, const std::vector<bool>& pk,
              bool withhold = false);
  bool empty() const { return out_.empty(); }
  void Truncate(size_t size) { out_.resize(size); }
  size_t size() const { return out_.size(); }
  std::string Take() { return std::move(out_); }

 private:
  void Record(const std::vector<Value>& row);
  void Field(const Value& v);
  void Varint(uint64_t v);
  std::string out_;
};

// One change read back from a changeset.
struct Change {
  std::string_view table;      // points into the changeset
  const std::vector<bool>* pk = nullptr;
  int op = 0;                  // SQLITE_INSERT, SQLITE_UPDATE or SQLITE_DELETE
  std::vector<Value> before;   // delete, update (undefined fields where unchanged)
  std::vector<Value> after;    // insert, update
};

// Reads a changeset strictly (every length within the buffer, known type bytes, records of the table's width,
// the fields the format requires present): false, with *error set, at the first thing that is not so. Calls
// visit(const Change&) for each change in order; visit returns false to stop. (SQLite's own reader is not used on
// stored bytes: given damaged input it can spin.)
template <typename Visit>
bool ReadChangeset(std::string_view bytes, std::string* error, Visit&& visit);

namespace changeset_detail {
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes) {}
  bool done() const { return pos_ == p_.size(); }
  bool Byte(uint8_t* out);
  bool Varint(uint64_t* out);
  bool Field(Value* out);
  bool Bytes(size_t n, std::string_view* out);
  bool CString(std::string_view* out);

 private:
  std::string_view p_;
  size_t pos_ = 0;
};
bool ReadRecord(Reader& r, size_t columns, std::vector<Value>* out);
}  // namespace changeset_detail

template <typename Visit>
bool ReadChangeset(std::string_view bytes, std::string* error, Visit&& visit) {
  using changeset_detail::Reader;
  Reader r(bytes);
  std::vector<bool> pk;
  std::string_view table;
  bool have_table = false;
  Change change;
  while (!r.done()) {
    uint8_t op = 0;
    if (!r.Byte(&op)) break;
    if (op == 'T') {
      uint64_t columns = 0;
      std::string_view flags;
      if (!r.Varint(&columns) || columns == 0 || columns > 32767 || !r.Bytes(columns, &flags) ||
          !r.CString(&table) || table.empty()) {
        *error = "bad table header";
        return false;
      }
      pk.assign(columns, false);
      bool any_pk = false;
      for (size_t c = 0; c < columns; ++c) {
        const uint8_t f = static_cast<uint8_t>(flags[c]);
        if (f > 1) {
          *error = "bad primary-key flags";
          return false;
        }
        pk[c] = f == 1;
        any_pk = any_pk || pk[c];
      }
      if (!any_pk) {
        *error = "a table without a primary key";
        return false;
      }
      have_table = true;
      continue;
    }
    uint8_t indirect = 0;
    if (!have_table || (op != 0x12 && op != 0x17 && op != 0x09) || !r.Byte(&indirect) || indirect > 1) {
      *error = "bad change header";
      return false;
    }
    change.table = table;
    change.pk = &pk;
    change.op = op;
    change.before.clear();
    change.after.clear();
    if (op != 0x12 && !changeset_detail::ReadRecord(r, pk.size(), &change.before)) {
      *error = "bad old record";
      return false;
    }
    if (op != 0x09 && !changeset_detail::ReadRecord(r, pk.size(), &change.after)) {
      *error = "bad new record";
      return false;
    }
    // What the format promises: whole rows for inserts and deletes; the key in an update's old record.
    for (size_t c = 0; c < pk.size(); ++c) {
      const bool whole_before = op == 0x09 || (op == 0x17 && pk[c]);
      if ((whole_before && change.before[c].type == Value::kUndefined) ||
          (op == 0x12 && change.after[c].type == Value::kUndefined)) {
        *error = "a record lacks a required field";
        return false;
      }
    }
    if (!visit(static_cast<const Change&>(change))) return true;
  }
  if (!r.done()) {
    *error = "truncated";
    return false;
  }
  return true;
}

}  // namespace convstore::ops
