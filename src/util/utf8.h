// UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#pragma once
#include <string_view>

namespace convstore::util {
bool IsValidUtf8(std::string_view s) noexcept;
}
