#include "metadata/projection.h"

#include <algorithm>
#include <cstring>

namespace convstore::metadata {

namespace {

void SkipWs(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}

// Past the string whose opening quote is at s[i]; false when it does not end.
bool SkipString(std::string_view s, size_t& i) {
  ++i;
  for (;;) {
    const void* q = std::memchr(s.data() + i, '"', s.size() - i);
    if (q == nullptr) return false;
    size_t end = static_cast<size_t>(static_cast<const char*>(q) - s.data());
    size_t backslashes = 0;
    while (end - backslashes > i && s[end - backslashes - 1] == '\\') ++backslashes;
    i = end + 1;
    if (backslashes % 2 == 0) return true;  // not escaped
  }
}

// Past one value starting at s[i] (no whitespace before it); false when it does not end.
bool SkipValue(std::string_view s, size_t& i) {
  if (i >= s.size()) return false;
  const char c = s[i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char d = s[i];
      if (d == '"') {
        if (!SkipString(s, i)) return false;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  // A number or a literal: up to the next delimiter.
  const size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
         s[i] != '\r')
    ++i;
  return i > start;
}

}  // namespace

std::optional<nlohmann::json> ParseMembers(std::string_view s, const std::vector<std::string>& keys) {
  using nlohmann::json;
  size_t i = 0;
  SkipWs(s, i);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  ++i;
  json out = json::object();
  SkipWs(s, i);
  if (i < s.size() && s[i] == '}') {
    ++i;
    SkipWs(s, i);
    return i == s.size() ? std::optional<json>(std::move(out)) : std::nullopt;
  }
  for (;;) {
    SkipWs(s, i);
    if (i >= s.size() || s[i] != '"') return std::nullopt;
    const size_t key_start = i;
    if (!SkipString(s, i)) return std::nullopt;
    std::string_view raw = s.substr(key_start + 1, i - key_start - 2);
    std::string key;
    if (raw.find('\\') == std::string_view::npos) {
      key.assign(raw);
    } else {  // an escaped key: decode it exactly
      json k = json::parse(s.begin() + static_cast<std::ptrdiff_t>(key_start), s.begin() + static_cast<std::ptrdiff_t>(i),
                           nullptr, false);
      if (!k.is_string()) return std::nullopt;
      key = k.get<std::string>();
    }
    SkipWs(s, i);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    ++i;
    SkipWs(s, i);
    const size_t value_start = i;
    if (!SkipValue(s, i)) return std::nullopt;
    if (std::binary_search(keys.begin(), keys.end(), key)) {
      json v = json::parse(s.begin() + static_cast<std::ptrdiff_t>(value_start),
                           s.begin() + static_cast<std::ptrdiff_t>(i), nullptr, false);
      if (v.is_discarded()) return std::nullopt;
      out[key] = std::move(v);
    }
    SkipWs(s, i);
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') {
      ++i;
      SkipWs(s, i);
      return i == s.size() ? std::optional<json>(std::move(out)) : std::nullopt;
    }
    return std::nullopt;
  }
}

}  // namespace convstore::metadata
