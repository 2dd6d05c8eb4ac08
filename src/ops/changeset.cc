#include "ops/changeset.h"

#include <sqlite3.h>

#include <cstring>

namespace convstore::ops {

namespace {

void PutBigEndian(std::string& out, uint64_t v) {
  char b[8];
  for (int k = 7; k >= 0; --k) {
    b[k] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  out.append(b, 8);
}

}  // namespace

std::string QuotedName(std::string_view name) { return "\"" + std::string(name) + "\""; }

void ChangesetWriter::Varint(uint64_t v) {
  // SQLite's varint: big-endian groups of 7 bits with a continuation bit; a 9th byte carries 8 bits.
  if (v > 0x00ffffffffffffffULL) {
    char b[9];
    b[8] = static_cast<char>(v & 0xFF);
    v >>= 8;
    for (int k = 7; k >= 0; --k) {
      b[k] = static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    out_.append(b, 9);
    return;
  }
  char b[10];
  int n = 0;
  do {
    b[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  } while (v != 0);
  b[0] = static_cast<char>(b[0] & 0x7F);  // the last byte (written first, emitted last) has no continuation bit
  for (int k = n - 1; k >= 0; --k) out_.push_back(b[k]);
}

void ChangesetWriter::Field(const Value& v) {
  out_.push_back(static_cast<char>(v.type));
  switch (v.type) {
    case Value::kInteger: PutBigEndian(out_, static_cast<uint64_t>(v.i)); break;
    case Value::kFloat: {
      uint64_t bits;
      std::memcpy(&bits, &v.f, sizeof bits);
      PutBigEndian(out_, bits);
      break;
    }
    case Value::kText:
    case Value::kBlob:
      Varint(v.bytes.size());
      out_.append(v.bytes);
      break;
    default: break;
  }
}

void ChangesetWriter::Record(const std::vector<Value>& row) {
  for (const Value& v : row) Field(v);
}

void ChangesetWriter::BeginTable(std::string_view name, const std::vector<bool>& pk) {
  out_.push_back('T');
  Varint(pk.size());
  for (bool k : pk) out_.push_back(k ? 1 : 0);
  out_.append(name);
  out_.push_back('\0');
}

void ChangesetWriter::Insert(const std::vector<Value>& row) {
  out_.push_back(static_cast<char>(SQLITE_INSERT));
  out_.push_back(0);
  Record(row);
}

namespace {
const Value kWithheld = Value::Null();  // what a withheld old value is recorded as
}  // namespace

void ChangesetWriter::Delete(const std::vector<Value>& row, const std::vector<bool>& pk, bool withhold) {
  out_.push_back(static_cast<char>(SQLITE_DELETE));
  out_.push_back(0);
  if (!withhold) {
    Record(row);
    return;
  }
  for (size_t c = 0; c < row.size(); ++c) Field(pk[c] ? row[c] : kWithheld);
}

bool ChangesetWriter::Update(const std::vector<Value>& before, const std::vector<Value>& after,
                             const std::vector<bool>& pk, bool withhold) {
  bool any = false;
  for (size_t c = 0; c < before.size(); ++c) any = any || (!pk[c] && !(before[c] == after[c]));
  if (!any) return false;
  out_.push_back(static_cast<char>(SQLITE_UPDATE));
  out_.push_back(0);
  static const Value kUndefined{};
  for (size_t c = 0; c < before.size(); ++c)
    Field(pk[c] ? before[c] : before[c] == after[c] ? kUndefined : withhold ? kWithheld : before[c]);
  for (size_t c = 0; c < after.size(); ++c) Field(!pk[c] && !(before[c] == after[c]) ? after[c] : kUndefined);
  return true;
}

namespace changeset_detail {

bool Reader::Byte(uint8_t* out) {
  if (pos_ >= p_.size()) return false;
  *out = static_cast<uint8_t>(p_[pos_++]);
  return true;
}

bool Reader::Varint(uint64_t* out) {
  uint64_t v = 0;
  for (int k = 0; k < 9; ++k) {
    uint8_t b = 0;
    if (!Byte(&b)) return false;
    if (k == 8) {
      *out = (v << 8) | b;
      return true;
    }
    v = (v << 7) | (b & 0x7F);
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

bool Reader::Bytes(size_t n, std::string_view* out) {
  if (n > p_.size() - pos_) return false;
  *out = p_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool Reader::CString(std::string_view* out) {
  const size_t end = p_.find('\0', pos_);
  if (end == std::string_view::npos) return false;
  *out = p_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return true;
}

bool Reader::Field(Value* out) {
  uint8_t type = 0;
  if (!Byte(&type) || type > Value::kNull) return false;
  *out = Value{};
  out->type = static_cast<Value::Type>(type);
  if (type == Value::kInteger || type == Value::kFloat) {
    std::string_view b;
    if (!Bytes(8, &b)) return false;
    uint64_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
    if (type == Value::kInteger) out->i = static_cast<int64_t>(v);
    else std::memcpy(&out->f, &v, sizeof v);
  } else if (type == Value::kText || type == Value::kBlob) {
    uint64_t n = 0;
    std::string_view b;
    if (!Varint(&n) || n > p_.size() || !Bytes(static_cast<size_t>(n), &b)) return false;
    out->bytes.assign(b);
  }
  return true;
}

bool ReadRecord(Reader& r, size_t columns, std::vector<Value>* out) {
  out->resize(columns);
  for (size_t c = 0; c < columns; ++c)
    if (!r.Field(&(*out)[c])) return false;
  return true;
}

}  // namespace changeset_detail

}  // namespace convstore::ops
