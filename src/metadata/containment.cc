#include "metadata/containment.h"

#include <cmath>
#include <cstdint>

#include "util/int128.h"

namespace convstore::metadata {

namespace {

using nlohmann::json;

enum class Kind { kObject, kArray, kScalar };

Kind KindOf(const json& v) {
  if (v.is_object()) return Kind::kObject;
  if (v.is_array()) return Kind::kArray;
  return Kind::kScalar;
}

// An integral value of a JSON number as a 128-bit integer when it has one exactly.
bool ExactInteger(const json& v, util::Int128& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  const double d = v.get<double>();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 1.7e38) return false;
  out = static_cast<util::Int128>(d);
  return true;
}

bool NumbersEqual(const json& a, const json& b) {
  if (!a.is_number_float() && !b.is_number_float()) {  // both integral: compare exactly
    util::Int128 x = 0, y = 0;
    ExactInteger(a, x);
    ExactInteger(b, y);
    return x == y;
  }
  util::Int128 x = 0, y = 0;
  const bool xi = ExactInteger(a, x), yi = ExactInteger(b, y);
  if (xi && yi) return x == y;  // 1 = 1.0, and 2^63 = 9223372036854775808.0
  if (xi != yi) return false;   // an integral value never equals a fractional one
  return a.get<double>() == b.get<double>();
}

bool DeepContains(const json& doc, const json& query);

bool ObjectContains(const json& doc, const json& query) {
  for (auto it = query.begin(); it != query.end(); ++it) {
    auto found = doc.find(it.key());
    if (found == doc.end()) return false;
    if (KindOf(*found) != KindOf(*it)) return false;
    if (!DeepContains(*found, *it)) return false;
  }
  return true;
}

bool ArrayContains(const json& doc, const json& query) {
  for (const json& q : query) {
    const Kind kind = KindOf(q);
    bool matched = false;
    for (const json& d : doc) {
      if (KindOf(d) != kind) continue;
      if (kind == Kind::kScalar ? ScalarEqual(d, q) : DeepContains(d, q)) {
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

bool DeepContains(const json& doc, const json& query) {
  switch (KindOf(query)) {
    case Kind::kObject: return doc.is_object() && ObjectContains(doc, query);
    case Kind::kArray: return doc.is_array() && ArrayContains(doc, query);
    case Kind::kScalar: return KindOf(doc) == Kind::kScalar && ScalarEqual(doc, query);
  }
  return false;
}

}  // namespace

bool ScalarEqual(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return NumbersEqual(a, b);
  if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>() == b.get_ref<const std::string&>();
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() == b.get<bool>();
  return a.is_null() && b.is_null();
}

bool Contains(const json& doc, const json& query) {
  const bool doc_object = doc.is_object(), query_object = query.is_object();
  if (doc_object != query_object) return false;
  if (doc_object) return ObjectContains(doc, query);
  // Arrays and bare scalars: a bare scalar behaves as a one-element array, except that it cannot contain an array.
  const bool doc_scalar = !doc.is_array(), query_scalar = !query.is_array();
  if (doc_scalar && !query_scalar) return false;
  if (doc_scalar) return ScalarEqual(doc, query);
  if (query_scalar) return ArrayContains(doc, json::array({query}));
  return ArrayContains(doc, query);
}

}  // namespace convstore::metadata
