#include "util/validate.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "util/time.h"
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

Status CheckName(std::string_view value, std::string_view what, size_t max_bytes, bool required) {
  if (value.empty()) return required ? Status::InvalidArgument(fmt::format("{} is required", what)) : Status::OK();
  if (value.size() > max_bytes) return Status::TooLarge(fmt::format("{} is longer than {} bytes", what, max_bytes));
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '/' || c == '-';
    if (!ok) return Status::InvalidArgument(fmt::format("{} may hold only letters, digits and . _ : / -", what));
  }
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
  if (!micros || (*micros >= limits::kMinTimestampUs && *micros <= limits::kMaxTimestampUs)) return Status::OK();
  const int64_t t = *micros;
  constexpr std::string_view kRule =
      "timestamps are integer microseconds since 1970-01-01 UTC, from 10^14 (1973-03-03T09:46:40Z) to "
      "9999-12-31T23:59:59.999999Z";
  // The unit the caller most likely used, judged by magnitude: seconds reach 10^11 only in the year 5138.
  if (t >= 0 && t < limits::kMinTimestampUs) {
    const bool seconds = t < 100'000'000'000;
    const char* unit = seconds ? "seconds" : "milliseconds";
    const int64_t scale = seconds ? 1'000'000 : 1'000;
    return Status::InvalidArgument(fmt::format("{} is {}, which looks like {} rather than microseconds ({}); "
                                               "as {} it is {} µs ({})",
                                               what, t, unit, kRule, unit, t * scale, FormatIso8601(t * scale)));
  }
  if (t > limits::kMaxTimestampUs && t / 1000 >= limits::kMinTimestampUs)
    return Status::InvalidArgument(fmt::format("{} is {}, which looks like nanoseconds rather than microseconds "
                                               "({}); as nanoseconds it is {} µs ({})",
                                               what, t, kRule, t / 1000, FormatIso8601(t / 1000)));
  return Status::InvalidArgument(fmt::format("{} is {} µs; {}", what, t, kRule));
}

}  // namespace convstore::util
