// Parsing and normalising JSON documents that enter the library.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "convstore/status.h"

namespace convstore::util {

// Nesting depth of a JSON text, counted without parsing (strings skipped). Stops counting past `limit`+1.
int JsonDepth(std::string_view text, int limit) noexcept;

// Parses `text` as JSON after checking its size and depth; `what` names the field in error messages.
// Errors: kTooLarge (size or depth), kInvalidArgument (syntax, invalid UTF-8).
// `max_depth` defaults to limits::kMaxJsonDepth; requests that wrap documents allow their own levels on top.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what, size_t max_bytes, int max_depth = -1);

// Validates and returns the compact form of a JSON document. With require_object, anything but an object is
// refused. An empty text means "{}" when require_object, else it is refused.
Result<std::string> NormalizeJson(std::string_view text, std::string_view what, size_t max_bytes,
                                  bool require_object);

}  // namespace convstore::util
