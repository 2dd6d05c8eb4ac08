// The metadata filter language: parsing a containment document and path conditions into a compiled filter that
// (a) says which posting lists every match must appear in and (b) decides exactly whether a document matches.
// The rules are in convstore/metadata.h. Thread-safety: a CompiledFilter is immutable after CompileFilter.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "convstore/status.h"
#include "metadata/document_terms.h"

namespace convstore::metadata {

inline constexpr size_t kMaxConditions = 64;  // path conditions per filter
inline constexpr size_t kMaxInValues = 64;    // values of one $in

enum class Op { kEq, kNe, kGt, kGte, kLt, kLte, kIn, kExists, kNotExists };

struct PathCondition {
  std::vector<std::string> keys;
  std::string text;  // the path as written, for messages
  Op op;
  nlohmann::json value;  // kIn: an array
};

// Index terms a match must have: every one of `all`, and at least one of each group in `any_of`.
struct IndexNeeds {
  std::vector<Posting> all;
  std::vector<std::vector<Posting>> any_of;
  bool impossible = false;  // no metadata document (always an object) can match
  std::vector<std::string> notes;
};

class CompiledFilter {
 public:
  bool Matches(const nlohmann::json& doc) const;
  // What the index can narrow; postings under `excluded` paths (EncodePath forms) are left out with a note.
  IndexNeeds Needs(const std::vector<std::string>& excluded) const;
  bool empty() const { return !contains_ && conditions_.empty(); }
  // A cheap necessary condition on a stored document's text (compact JSON as the library writes it): every key of
  // the containment document appears as "key": and every string in it as "string". False means no match.
  bool MayMatchText(std::string_view text) const;
  // Whether the stored document `text` matches: the text test, then Matches on only the top-level members the
  // filter reads (projection.h). A document that does not parse matches nothing.
  bool MatchesText(std::string_view text) const;

 private:
  friend Result<CompiledFilter> CompileFilter(std::string_view, std::string_view);
  std::optional<nlohmann::json> contains_;
  std::vector<std::string> must_contain_;  // JSON-encoded keys (with ':') and strings of the containment document
  std::vector<PathCondition> conditions_;
  std::vector<std::string> top_keys_;  // sorted: the top-level keys the filter reads
  bool whole_document_ = false;        // the filter needs more than top_keys_ (a non-object containment)
};

// contains_json: "" or any JSON value; where_json: "" or a JSON object of path -> condition.
// Errors (kInvalidArgument / kTooLarge) name the offending path and operator.
Result<CompiledFilter> CompileFilter(std::string_view contains_json, std::string_view where_json);

// jsonb equality of two values (numbers by value; objects by keys; arrays element by element, in order).
bool JsonbEqual(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace convstore::metadata
