#include "util/json_check.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace convstore::util {

namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Four hex digits at s[i..i+4): the code unit, or -1.
int32_t Unit(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  int32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    int h = Hex(s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// One UTF-8 sequence (a non-ASCII lead byte at s[i]); advances i past it.
bool Utf8Sequence(std::string_view s, size_t& i) {
  const auto c = static_cast<uint8_t>(s[i]);
  int n;
  uint32_t cp, min;
  if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07, min = 0x10000;
  else return false;
  if (i + static_cast<size_t>(n) >= s.size()) return false;
  for (int k = 1; k <= n; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + static_cast<size_t>(k)]);
    if ((cc & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += static_cast<size_t>(n) + 1;
  return true;
}

// The escape at s[i] ("\\x"), in stored form: the character it stands for, or -1 when dump() would not write it.
int StoredEscape(std::string_view s, size_t i) {
  switch (s[i + 1]) {
    case '"': return '"';
    case '\\': return '\\';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': {
      // \u00xx (lowercase) only for control characters without a short escape.
      if (i + 6 > s.size() || s[i + 2] != '0' || s[i + 3] != '0') return -1;
      if (s[i + 4] != '0' && s[i + 4] != '1') return -1;
      const int lo = Hex(s[i + 5]);
      if (lo < 0 || (s[i + 5] >= 'A' && s[i + 5] <= 'F')) return -1;
      const int code = (s[i + 4] - '0') * 16 + lo;
      if (code == '\b' || code == '\f' || code == '\n' || code == '\r' || code == '\t') return -1;
      return code;
    }
    default: return -1;
  }
}

// A string starting at the quote s[i]; advances i past the closing quote. In stored form only the escapes dump()
// writes are accepted, and the decoded text is appended to *decoded when given (object keys, for their order).
bool String(std::string_view s, size_t& i, bool stored, std::string* decoded) {
  ++i;
  const size_t n = s.size();
  size_t run = i;  // start of the current run of bytes that stand for themselves
  while (i < n) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == '"') {
      if (decoded) decoded->append(s.substr(run, i - run));
      ++i;
      return true;
    }
    if (c < 0x20) return false;
    if (c < 0x80 && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (!Utf8Sequence(s, i)) return false;
      continue;
    }
    // An escape.
    if (i + 1 >= n) return false;
    if (stored) {
      const int ch = StoredEscape(s, i);
      if (ch < 0) return false;
      if (decoded) {
        decoded->append(s.substr(run, i - run));
        decoded->push_back(static_cast<char>(ch));
      }
      i += s[i + 1] == 'u' ? 6 : 2;
      run = i;
      continue;
    }
    const char e = s[i + 1];
    if (std::strchr("\"\\/bfnrt", e) != nullptr && e != '\0') {
      i += 2;
      continue;
    }
    if (e != 'u') return false;
    const int32_t u = Unit(s, i + 2);
    if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF)) return false;  // a lone low surrogate
    i += 6;
    if (u >= 0xD800 && u <= 0xDBFF) {  // a high surrogate must be followed by a low one
      if (i + 1 >= n || s[i] != '\\' || s[i + 1] != 'u') return false;
      const int32_t low = Unit(s, i + 2);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      i += 6;
    }
  }
  return false;
}

// In stored form, a plain decimal integer that parses as int64 (negative) or uint64 (otherwise) and prints back
// unchanged: no "-0", no fraction or exponent (those print in the printer's own form).
bool Number(std::string_view s, size_t& i, bool stored) {
  const size_t n = s.size();
  const bool negative = s[i] == '-';
  if (negative) ++i;
  if (i >= n) return false;
  if (stored) {
    const size_t start = i;
    while (i < n && IsDigit(s[i])) ++i;
    const size_t len = i - start;
    if (len == 0 || (s[start] == '0' && (len > 1 || negative))) return false;
    if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) return false;
    const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
    return len < limit.size() || (len == limit.size() && s.substr(start, len) <= limit);  // else a double
  }
  if (s[i] == '0') {
    ++i;
  } else if (IsDigit(s[i])) {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return true;
}

bool Literal(std::string_view s, size_t& i, std::string_view word) {
  if (s.substr(i, word.size()) != word) return false;
  i += word.size();
  return true;
}

}  // namespace

JsonKind CheckJsonText(std::string_view s, int max_depth, JsonTextForm form) noexcept {
  try {
    enum State { kValue, kValueOrEnd, kKey, kKeyOrEnd, kAfterValue };
    const bool stored = form == JsonTextForm::kStored;
    std::string stack;  // '{' or '[' per open container
    // Stored form: per open object, its last key (dump() prints keys in byte order, a duplicate once).
    std::vector<std::string> last_keys;
    std::string key;
    JsonKind top = JsonKind::kInvalid;
    State state = kValue;
    size_t i = 0;
    const size_t n = s.size();
    for (;;) {
      if (!stored)
        while (i < n && IsWs(s[i])) ++i;
      switch (state) {
        case kValueOrEnd:
          if (i < n && s[i] == ']') {
            ++i;
            stack.pop_back();
            state = kAfterValue;
            continue;
          }
          [[fallthrough]];
        case kValue: {
          if (i >= n) return JsonKind::kInvalid;
          const bool first = top == JsonKind::kInvalid;
          JsonKind kind;
          const char c = s[i];
          if (c == '{' || c == '[') {
            if (static_cast<int>(stack.size()) >= max_depth) return JsonKind::kInvalid;
            stack.push_back(c);
            if (stored && c == '{') last_keys.emplace_back();
            ++i;
            kind = c == '{' ? JsonKind::kObject : JsonKind::kArray;
            state = c == '{' ? kKeyOrEnd : kValueOrEnd;
          } else {
            if (c == '"') {
              if (!String(s, i, stored, nullptr)) return JsonKind::kInvalid;
              kind = JsonKind::kString;
            } else if (c == '-' || IsDigit(c)) {
              if (!Number(s, i, stored)) return JsonKind::kInvalid;
              kind = JsonKind::kNumber;
            } else if (Literal(s, i, "true") || Literal(s, i, "false")) {
              kind = JsonKind::kBool;
            } else if (Literal(s, i, "null")) {
              kind = JsonKind::kNull;
            } else {
              return JsonKind::kInvalid;
            }
            state = kAfterValue;
          }
          if (first) top = kind;
          continue;
        }
        case kKeyOrEnd:
          if (i < n && s[i] == '}') {
            ++i;
            stack.pop_back();
            if (stored) last_keys.pop_back();
            state = kAfterValue;
            continue;
          }
          [[fallthrough]];
        case kKey: {
          const bool first_key = state == kKeyOrEnd;
          key.clear();
          if (i >= n || s[i] != '"' || !String(s, i, stored, stored ? &key : nullptr)) return JsonKind::kInvalid;
          if (stored) {
            if (!first_key && !(last_keys.back() < key)) return JsonKind::kInvalid;
            last_keys.back().swap(key);
          }
          if (!stored)
            while (i < n && IsWs(s[i])) ++i;
          if (i >= n || s[i] != ':') return JsonKind::kInvalid;
          ++i;
          state = kValue;
          continue;
        }
        case kAfterValue:
          if (stack.empty()) return i == n ? top : JsonKind::kInvalid;
          if (i >= n) return JsonKind::kInvalid;
          if (s[i] == ',') {
            ++i;
            state = stack.back() == '{' ? kKey : kValue;
          } else if ((s[i] == '}' && stack.back() == '{') || (s[i] == ']' && stack.back() == '[')) {
            ++i;
            if (stored && stack.back() == '{') last_keys.pop_back();
            stack.pop_back();
          } else {
            return JsonKind::kInvalid;
          }
          continue;
      }
    }
  } catch (...) {  // the stack or a key could not grow (out of memory)
    return JsonKind::kInvalid;
  }
}

}  // namespace convstore::util
