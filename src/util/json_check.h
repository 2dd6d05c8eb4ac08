// Checking JSON text read back from the file, without building a tree: what convstore embeds in its output
// must be exactly one valid JSON value, so a damaged or edited cell can never splice fields into a record.
//
// Stateless; thread-safe.
#pragma once
#include <string_view>

namespace convstore::util {

enum class JsonKind { kInvalid, kObject, kArray, kString, kNumber, kBool, kNull };

// The kind of the single JSON value `text` holds (RFC 8259: whitespace around it allowed), or kInvalid: not
// exactly one value, a string that is not valid UTF-8 or has a bad escape (lone surrogates included), a bad
// number or literal, or nesting deeper than max_depth.
JsonKind CheckJsonText(std::string_view text, int max_depth = 256) noexcept;

}  // namespace convstore::util
