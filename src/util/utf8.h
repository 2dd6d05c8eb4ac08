// UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#pragma once
#include <string>
#include <string_view>

namespace convstore::util {
bool IsValidUtf8(std::string_view s) noexcept;
// `s` with every byte that is not part of a valid UTF-8 sequence replaced by "\xNN" (for messages that quote
// input, which must themselves be valid UTF-8).
std::string EscapeInvalidUtf8(std::string_view s);
}
