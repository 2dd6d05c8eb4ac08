#include "util/validate.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "util/utf8.h"

namespace convstore::util {

Status CheckKey(std::string_view value, std::string_view what) {
  if (value.empty()) return Status::InvalidArgument(fmt::format("{} is empty", what));
  if (value.size() > limits::kMaxKeyBytes)
    return Status::TooLarge(fmt::format("{} is {} bytes; the limit is {}", what, value.size(), limits::kMaxKeyBytes));
  if (value.find('\0') != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("{} contains a NUL byte", what));
  if (!util::IsValidUtf8(value)) return Status::InvalidArgument(fmt::format("{} is not valid UTF-8", what));
  return Status::OK();
}

Status CheckText(std::string_view value, std::string_view what, size_t max_bytes) {
  if (value.size() > max_bytes)
    return Status::TooLarge(fmt::format("{} is {} bytes; the limit is {}", what, value.size(), max_bytes));
  if (!util::IsValidUtf8(value)) return Status::InvalidArgument(fmt::format("{} is not valid UTF-8", what));
  return Status::OK();
}

Status CheckRange(int64_t value, int64_t lo, int64_t hi, std::string_view what) {
  if (value < lo || value > hi)
    return Status::InvalidArgument(fmt::format("{} is {}; it must be between {} and {}", what, value, lo, hi));
  return Status::OK();
}

Status CheckRange(const std::optional<int64_t>& value, int64_t lo, int64_t hi, std::string_view what) {
  return value ? CheckRange(*value, lo, hi, what) : Status::OK();
}

Status CheckTimestamp(const std::optional<int64_t>& micros, std::string_view what) {
  if (micros && (*micros < 0 || *micros > limits::kMaxTimestampUs))
    return Status::InvalidArgument(
        fmt::format("{} is {} µs; it must lie between 1970-01-01 and 9999-12-31 UTC", what, *micros));
  return Status::OK();
}

}  // namespace convstore::util
