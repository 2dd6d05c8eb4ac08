// Recognising JSON text that is already in convstore's stored form, so a document that arrives compact (from the
// C ABI, from the Python binding, or a C++ caller that wrote it that way) is validated in one scan and stored as
// given instead of being parsed into a tree and printed again.
//
// The stored form is what nlohmann::json's dump() prints for the parsed document: no whitespace, object keys in
// byte order with no duplicates, strings in UTF-8 with only the escapes dump() writes, integers in plain decimal.
// Floating-point numbers are not recognised (their printed form is the printer's business), so a document holding
// one takes the parse-and-print path.
//
// Stateless; thread-safe.
#pragma once
#include <string_view>

namespace convstore::util {

// True only when `text` is one JSON value that parses and prints back byte for byte as `text`, nests at most
// `max_depth` levels, and (with require_object) is an object. False means "not known to be": the caller parses.
bool IsStoredFormJson(std::string_view text, int max_depth, bool require_object) noexcept;

}  // namespace convstore::util
