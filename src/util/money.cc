#include "util/money.h"

#include <cmath>
#include <cstdio>

namespace convstore::util {

std::string FormatUsd(int64_t nano) {
  bool neg = nano < 0;
  // Work in unsigned so INT64_MIN is fine.
  uint64_t mag = neg ? 0 - static_cast<uint64_t>(nano) : static_cast<uint64_t>(nano);
  uint64_t whole = mag / 1000000000ULL;
  uint64_t frac = mag % 1000000000ULL;
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%s%llu", neg ? "-" : "", static_cast<unsigned long long>(whole));
  if (frac != 0) {
    char fb[16];
    std::snprintf(fb, sizeof fb, "%09llu", static_cast<unsigned long long>(frac));
    int len = 9;
    while (len > 1 && fb[len - 1] == '0') --len;
    fb[len] = '\0';
    std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%s", fb);
  }
  return buf;
}

std::optional<int64_t> ParseUsd(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') { neg = s[0] == '-'; i = 1; }
  uint64_t whole = 0;
  size_t digits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
    if (whole > (UINT64_MAX - 9) / 10) return std::nullopt;
    whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  uint64_t frac = 0;
  size_t fdigits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++fdigits) {
      if (fdigits >= 9) return std::nullopt;
      frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
    }
  }
  if (i != s.size() || digits + fdigits == 0) return std::nullopt;
  for (size_t k = fdigits; k < 9; ++k) frac *= 10;
  if (whole > static_cast<uint64_t>(INT64_MAX) / 1000000000ULL) return std::nullopt;
  uint64_t mag = whole * 1000000000ULL + frac;
  if (mag > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  int64_t v = static_cast<int64_t>(mag);
  return neg ? -v : v;
}

std::optional<int64_t> UsdDoubleToNano(double usd) noexcept {
  if (!std::isfinite(usd)) return std::nullopt;
  double nano = std::round(usd * 1e9);
  if (nano >= 9.2e18 || nano <= -9.2e18) return std::nullopt;
  return static_cast<int64_t>(nano);
}

}  // namespace convstore::util
