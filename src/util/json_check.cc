#include "util/json_check.h"

#include <cstdint>
#include <cstring>
#include <string>

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

// A string starting at the quote s[i]; advances i past the closing quote.
bool String(std::string_view s, size_t& i) {
  ++i;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == '"') {
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

bool Number(std::string_view s, size_t& i) {
  const size_t n = s.size();
  if (s[i] == '-') ++i;
  if (i >= n) return false;
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

JsonKind CheckJsonText(std::string_view s, int max_depth) noexcept {
  try {
    enum State { kValue, kValueOrEnd, kKey, kKeyOrEnd, kAfterValue };
    std::string stack;  // '{' or '[' per open container
    JsonKind top = JsonKind::kInvalid;
    State state = kValue;
    size_t i = 0;
    const size_t n = s.size();
    for (;;) {
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
            ++i;
            kind = c == '{' ? JsonKind::kObject : JsonKind::kArray;
            state = c == '{' ? kKeyOrEnd : kValueOrEnd;
          } else {
            if (c == '"') {
              if (!String(s, i)) return JsonKind::kInvalid;
              kind = JsonKind::kString;
            } else if (c == '-' || IsDigit(c)) {
              if (!Number(s, i)) return JsonKind::kInvalid;
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
            state = kAfterValue;
            continue;
          }
          [[fallthrough]];
        case kKey:
          if (i >= n || s[i] != '"' || !String(s, i)) return JsonKind::kInvalid;
          while (i < n && IsWs(s[i])) ++i;
          if (i >= n || s[i] != ':') return JsonKind::kInvalid;
          ++i;
          state = kValue;
          continue;
        case kAfterValue:
          if (stack.empty()) return i == n ? top : JsonKind::kInvalid;
          if (i >= n) return JsonKind::kInvalid;
          if (s[i] == ',') {
            ++i;
            state = stack.back() == '{' ? kKey : kValue;
          } else if ((s[i] == '}' && stack.back() == '{') || (s[i] == ']' && stack.back() == '[')) {
            ++i;
            stack.pop_back();
          } else {
            return JsonKind::kInvalid;
          }
          continue;
      }
    }
  } catch (...) {  // the stack could not grow (out of memory)
    return JsonKind::kInvalid;
  }
}

}  // namespace convstore::util
