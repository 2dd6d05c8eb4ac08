// Flattening a metadata document into postings: the index entries the metadata indexer keeps per document.
//
// A posting is (path, value): path is the sequence of object keys from the root to a scalar leaf, array levels
// skipped (as PostgreSQL's jsonb_path_ops GIN index does), so a leaf reached through arrays is found by the same
// path as a query that names it through arrays; value is the leaf's type and canonical value. An object key whose
// value is an object or array also yields an existence posting for its path (what a query's empty object or array
// needs); keys holding scalars do not (their value posting is enough for containment).
//
// Canonical values make equal jsonb scalars equal postings: numbers by value (1 and 1.0 give "n:1"), strings up to
// kMaxIndexedStringBytes as they are, longer strings as a prefix plus a hash (candidates are verified against the
// document, so the index stays exact). Thread-safety: pure functions.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace convstore::metadata {

inline constexpr size_t kMaxIndexedStringBytes = 64;
inline constexpr size_t kLongStringPrefixBytes = 48;

struct Posting {
  std::string path;   // EncodePath of the keys
  std::string value;  // CanonicalValue of the leaf; "" for an existence posting
  bool operator==(const Posting& o) const { return path == o.path && value == o.value; }
  bool operator<(const Posting& o) const { return path != o.path ? path < o.path : value < o.value; }
};

// Keys as one string: each key is its byte length in decimal, ':', then the key's bytes ("4:user2:id").
std::string EncodePath(const std::vector<std::string>& keys);

// "z" null, "t"/"f" booleans, "n:<number>" (integral values as integers, others as the shortest round-trip
// decimal), "s:<string>" or, past kMaxIndexedStringBytes, "h:<prefix>#<16 hex digits of a 64-bit hash>".
std::string CanonicalValue(const nlohmann::json& scalar);

// The postings of a document: sorted, without duplicates. Paths listed in `excluded` (EncodePath form) and
// everything below them are left out.
std::vector<Posting> Flatten(const nlohmann::json& doc, const std::vector<std::string>& excluded = {});

// The postings a containing document must have for `query` (its scalar leaves, and the existence of keys whose
// query value is an empty object or array): every candidate of a containment query has all of them.
std::vector<Posting> RequiredPostings(const nlohmann::json& query);

}  // namespace convstore::metadata
