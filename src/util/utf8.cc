#include "util/utf8.h"

#include <cstdint>

namespace convstore::util {

bool IsValidUtf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // Fast path: 8 ASCII bytes at a time.
    while (end - p >= 8) {
      uint64_t chunk;
      __builtin_memcpy(&chunk, p, 8);
      if (chunk & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    uint8_t c = *p;
    if (c < 0x80) { ++p; continue; }
    int n;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; cp = c & 0x07; }
    else return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      uint8_t cc = p[i];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

std::string EscapeInvalidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 16);
  size_t i = 0;
  while (i < s.size()) {
    // Length of the valid sequence starting at i (0 if none), found by validating growing prefixes.
    size_t len = 0;
    for (size_t n = 1; n <= 4 && i + n <= s.size(); ++n) {
      if (IsValidUtf8(s.substr(i, n))) {
        len = n;
        break;
      }
    }
    if (len == 0) {
      auto c = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
  return out;
}

}  // namespace convstore::util
