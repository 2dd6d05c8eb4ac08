// Checking JSON text without building a tree.
//
// What convstore embeds in its output must be exactly one valid JSON value, so a damaged or edited cell can never
// splice fields into a record (JsonTextForm::kAny). And a document that arrives already in stored form is
// recognised in the same scan and kept as given rather than parsed and printed again (JsonTextForm::kStored).
//
// Stored form is what nlohmann::json's dump() prints for the parsed document: no whitespace, object keys in byte
// order with no duplicates, strings in UTF-8 with only the escapes dump() writes (\" \\ \b \f \n \r \t, and
// \u00xx in lowercase for the other control characters), integers in plain decimal within the 64-bit ranges.
// Floating-point numbers are not stored form (their printed form is the printer's business): a document holding
// one takes the parse-and-print path.
//
// Stateless; thread-safe.
#pragma once
#include <string_view>

namespace convstore::util {

enum class JsonKind { kInvalid, kObject, kArray, kString, kNumber, kBool, kNull };
enum class JsonTextForm { kAny, kStored };

// The kind of the single JSON value `text` holds, or kInvalid: not exactly one value, a string that is not valid
// UTF-8 or has a bad escape (lone surrogates included), a bad number or literal, or nesting deeper than max_depth.
// kAny accepts any RFC 8259 text (whitespace around and between tokens allowed); kStored accepts only stored form,
// so kInvalid then also means "not known to be stored form".
JsonKind CheckJsonText(std::string_view text, int max_depth = 256, JsonTextForm form = JsonTextForm::kAny) noexcept;

// True only when `text` is one JSON value in stored form (it parses and prints back byte for byte as `text`),
// nests at most `max_depth` levels and, with require_object, is an object. False: the caller parses.
inline bool IsStoredFormJson(std::string_view text, int max_depth, bool require_object) noexcept {
  const JsonKind kind = CheckJsonText(text, max_depth, JsonTextForm::kStored);
  return require_object ? kind == JsonKind::kObject : kind != JsonKind::kInvalid;
}

}  // namespace convstore::util
