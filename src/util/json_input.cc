#include "util/json_input.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "util/json_check.h"
#include "util/utf8.h"

namespace convstore::util {

int JsonDepth(std::string_view s, int limit) noexcept {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        max_depth = depth;
        if (max_depth > limit) return max_depth;
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what, size_t max_bytes, int max_depth) {
  if (max_depth < 0) max_depth = limits::kMaxJsonDepth;
  if (text.size() > max_bytes)
    return Status::TooLarge(fmt::format("{} is {} bytes; the limit is {}", what, text.size(), max_bytes));
  if (JsonDepth(text, max_depth) > max_depth)
    return Status::TooLarge(fmt::format("{} nests deeper than {} levels", what, max_depth));
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // nlohmann quotes the bytes it stopped at, which may be invalid UTF-8; messages must stay valid UTF-8.
    return Status::InvalidArgument(fmt::format("{} is not valid JSON: {}", what, EscapeInvalidUtf8(e.what())));
  }
}

Result<std::string> NormalizeJson(std::string_view text, std::string_view what, size_t max_bytes,
                                  bool require_object) {
  if (text.empty() || text == "{}") {
    if (require_object) return std::string("{}");
    if (text.empty()) return Status::InvalidArgument(fmt::format("{} is empty; it must be JSON", what));
  }
  // Already in stored form (what the C ABI and the Python binding send): one scan, no tree.
  if (text.size() <= max_bytes && IsStoredFormJson(text, limits::kMaxJsonDepth, require_object))
    return std::string(text);
  auto parsed = ParseJson(text, what, max_bytes);
  if (!parsed.ok()) return parsed.status();
  if (require_object && !parsed->is_object())
    return Status::InvalidArgument(fmt::format("{} must be a JSON object", what));
  try {
    return parsed->dump();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("{} cannot be serialised: {}", what, e.what()));
  }
}

}  // namespace convstore::util
