// Input checks shared by the store's entry points. Each returns a Status naming the offending field.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "convstore/status.h"
#include "util/status_macros.h"

namespace convstore::util {

// Keys and ids: 1..kMaxKeyBytes of valid UTF-8 with no NUL byte.
Status CheckKey(std::string_view value, std::string_view what);
// Free text: valid UTF-8 of at most `max_bytes` (kTooLarge beyond).
Status CheckText(std::string_view value, std::string_view what, size_t max_bytes);
// A name of a kind of thing (an audit action, a metric's type or name): 1..max_bytes (0..max_bytes when not
// required) of ASCII letters, digits and . _ : / -.
Status CheckName(std::string_view value, std::string_view what, size_t max_bytes, bool required);
// lo <= value <= hi.
Status CheckRange(int64_t value, int64_t lo, int64_t hi, std::string_view what);
Status CheckRange(const std::optional<int64_t>& value, int64_t lo, int64_t hi, std::string_view what);
// kMinTimestampUs .. kMaxTimestampUs (1973-03-03T09:46:40Z .. 9999-12-31 UTC). A value below the range is
// refused as probably seconds or milliseconds, one above as probably nanoseconds; the message gives the
// microsecond value the caller most likely meant.
Status CheckTimestamp(const std::optional<int64_t>& micros, std::string_view what);

}  // namespace convstore::util
