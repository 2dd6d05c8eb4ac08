#include "util/json_stored_form.h"

#include <cstdint>
#include <string>

#include "util/utf8.h"

namespace convstore::util {

namespace {

class StoredFormScanner {
 public:
  StoredFormScanner(std::string_view text, int max_depth) : s_(text), max_depth_(max_depth) {}

  bool Document(bool require_object) {
    if (require_object && (s_.empty() || s_[0] != '{')) return false;
    return Value(0) && i_ == s_.size();
  }

 private:
  bool Value(int depth) {
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{': return Object(depth + 1);
      case '[': return Array(depth + 1);
      case '"': return String(nullptr);
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Integer();
    }
  }

  bool Object(int depth) {
    if (depth > max_depth_) return false;
    ++i_;  // '{'
    if (Peek('}')) { ++i_; return true; }
    std::string previous, key;
    for (bool first = true;; first = false) {
      key.clear();
      if (!Peek('"') || !String(&key)) return false;
      // dump() prints keys in std::map order (byte order) and a parsed duplicate keeps one entry.
      if (!first && !(previous < key)) return false;
      previous.swap(key);
      if (!Peek(':')) return false;
      ++i_;
      if (!Value(depth)) return false;
      if (Peek('}')) { ++i_; return true; }
      if (!Peek(',')) return false;
      ++i_;
    }
  }

  bool Array(int depth) {
    if (depth > max_depth_) return false;
    ++i_;  // '['
    if (Peek(']')) { ++i_; return true; }
    for (;;) {
      if (!Value(depth)) return false;
      if (Peek(']')) { ++i_; return true; }
      if (!Peek(',')) return false;
      ++i_;
    }
  }

  // A string with only the escapes dump() writes: \" \\ \b \f \n \r \t, and \u00XX (lowercase hex) for the other
  // control characters. Appends the decoded text to *decoded when given (object keys, for the order check).
  bool String(std::string* decoded) {
    ++i_;  // opening quote
    size_t run = i_;  // start of the current run of unescaped bytes
    for (;;) {
      if (i_ >= s_.size()) return false;
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"' || c == '\\') {
        std::string_view bytes = s_.substr(run, i_ - run);
        if (!IsValidUtf8(bytes)) return false;
        if (decoded) decoded->append(bytes);
        if (c == '"') { ++i_; return true; }
        if (i_ + 1 >= s_.size()) return false;
        char e = s_[i_ + 1];
        char out;
        switch (e) {
          case '"': out = '"'; break;
          case '\\': out = '\\'; break;
          case 'b': out = '\b'; break;
          case 'f': out = '\f'; break;
          case 'n': out = '\n'; break;
          case 'r': out = '\r'; break;
          case 't': out = '\t'; break;
          case 'u': {
            if (s_.substr(i_ + 2, 2) != "00" || i_ + 6 > s_.size()) return false;
            int hi = Hex(s_[i_ + 4]), lo = Hex(s_[i_ + 5]);
            if (hi < 0 || lo < 0) return false;
            int code = hi * 16 + lo;
            // dump() writes \u00XX only for control characters without a short escape.
            if (code >= 0x20 || code == '\b' || code == '\f' || code == '\n' || code == '\r' || code == '\t')
              return false;
            out = static_cast<char>(code);
            i_ += 6;
            run = i_;
            if (decoded) decoded->push_back(out);
            continue;
          }
          default: return false;
        }
        if (decoded) decoded->push_back(out);
        i_ += 2;
        run = i_;
        continue;
      }
      if (c < 0x20) return false;  // a raw control character is not JSON
      ++i_;
    }
  }

  // Lowercase hex digit, as dump() writes them; -1 otherwise.
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }

  // Plain decimal integers that parse as int64 (negative) or uint64 (otherwise) and print back unchanged: no
  // leading zeros, no "-0", no fraction or exponent (those print in the printer's own form).
  bool Integer() {
    bool negative = Peek('-');
    if (negative) ++i_;
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    size_t n = i_ - start;
    if (n == 0) return false;
    if (s_[start] == '0' && (n > 1 || negative)) return false;
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return false;
    std::string_view digits = s_.substr(start, n);
    std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
    if (n > limit.size() || (n == limit.size() && digits > limit)) return false;  // would parse as a double
    return true;
  }

  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }

  std::string_view s_;
  int max_depth_;
  size_t i_ = 0;
};

}  // namespace

bool IsStoredFormJson(std::string_view text, int max_depth, bool require_object) noexcept {
  try {
    return StoredFormScanner(text, max_depth).Document(require_object);
  } catch (...) {  // bad_alloc while copying a key: take the parsing path, which reports it
    return false;
  }
}

}  // namespace convstore::util
