// Exact money: int64 nano-USD, and its decimal text ("0.015").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace convstore::util {
// "-0.000000001", "0.015", "12" — trailing zeros trimmed, no exponent.
std::string FormatUsd(int64_t nano);
// Parses a plain decimal ("0.015", "12", "-1.5"); at most 9 fractional digits; no exponent, no spaces.
std::optional<int64_t> ParseUsd(std::string_view text) noexcept;
// Rounds a finite double USD amount to the nearest nano-USD; nullopt for NaN, infinity or out of int64 range.
std::optional<int64_t> UsdDoubleToNano(double usd) noexcept;
}  // namespace convstore::util
