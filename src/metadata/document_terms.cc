#include "metadata/document_terms.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include <fmt/format.h>

namespace convstore::metadata {

namespace {

using nlohmann::json;

// FNV-1a, 64-bit: stable across builds and platforms (the postings are stored).
uint64_t Hash64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string CanonicalNumber(const json& v) {
  if (v.is_number_unsigned()) return "n:" + std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return "n:" + std::to_string(v.get<int64_t>());
  const double d = v.get<double>();
  if (std::isfinite(d) && d == std::floor(d)) {  // integral: the same text as the equal integer
    if (d >= 0 && d < 18446744073709551616.0) return "n:" + std::to_string(static_cast<uint64_t>(d));
    if (d < 0 && d >= -9223372036854775808.0) return "n:" + std::to_string(static_cast<int64_t>(d));
  }
  return fmt::format("n:{}", d);  // fmt prints the shortest representation that round-trips
}

void Walk(const json& v, std::vector<std::string>& keys, const std::vector<std::string>& excluded,
          std::vector<Posting>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      keys.push_back(it.key());
      std::string path = EncodePath(keys);
      if (std::find(excluded.begin(), excluded.end(), path) == excluded.end()) {
        // Existence only for keys holding an object or array (what containment of an empty container needs);
        // a scalar leaf's value posting already says "this path has this value", and skipping its existence
        // posting halves the postings of a flat document.
        if (it->is_structured()) out.push_back({path, ""});
        Walk(*it, keys, excluded, out);
      }
      keys.pop_back();
    }
  } else if (v.is_array()) {
    for (const json& e : v) Walk(e, keys, excluded, out);  // array levels are not part of the path
  } else {
    out.push_back({EncodePath(keys), CanonicalValue(v)});
  }
}

void Required(const json& q, std::vector<std::string>& keys, std::vector<Posting>& out) {
  if (q.is_object()) {
    for (auto it = q.begin(); it != q.end(); ++it) {
      keys.push_back(it.key());
      const bool empty_container = (it->is_object() || it->is_array()) && it->empty();
      if (empty_container) out.push_back({EncodePath(keys), ""});
      Required(*it, keys, out);
      keys.pop_back();
    }
  } else if (q.is_array()) {
    for (const json& e : q) Required(e, keys, out);
  } else {
    out.push_back({EncodePath(keys), CanonicalValue(q)});
  }
}

void SortUnique(std::vector<Posting>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

std::string EncodePath(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) {
    out += std::to_string(k.size());
    out += ':';
    out += k;
  }
  return out;
}

std::string CanonicalValue(const json& v) {
  if (v.is_null()) return "z";
  if (v.is_boolean()) return v.get<bool>() ? "t" : "f";
  if (v.is_number()) return CanonicalNumber(v);
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() <= kMaxIndexedStringBytes) return "s:" + s;
  size_t cut = kLongStringPrefixBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep whole UTF-8 characters
  return fmt::format("h:{}#{:016x}", s.substr(0, cut), Hash64(s));
}

std::vector<Posting> Flatten(const json& doc, const std::vector<std::string>& excluded) {
  std::vector<Posting> out;
  std::vector<std::string> keys;
  Walk(doc, keys, excluded, out);
  SortUnique(out);
  return out;
}

std::vector<Posting> RequiredPostings(const json& query) {
  std::vector<Posting> out;
  std::vector<std::string> keys;
  Required(query, keys, out);
  SortUnique(out);
  return out;
}

}  // namespace convstore::metadata
