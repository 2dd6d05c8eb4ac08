// Time helpers: int64 microseconds since the Unix epoch, UTC, and their ISO-8601 text.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace convstore::util {

int64_t SystemNowMicros() noexcept;
// "2026-02-11T09:30:00.123456Z" (always 6 fractional digits, always Z).
std::string FormatIso8601(int64_t micros);
// Accepts "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)" ('t', ' ' also accepted as separator; fractions beyond
// microseconds are truncated). Returns nullopt for anything else or a time outside [kMinTimestampUs, kMaxTimestampUs].
std::optional<int64_t> ParseIso8601(std::string_view text) noexcept;
// The same, saying what is wrong: nullptr (and `out` set) when `text` parses; otherwise the end of a sentence
// that starts with the field's name ("has no offset: ...", "is a leap second ...").
const char* Iso8601Error(std::string_view text, int64_t& out) noexcept;

// The first microsecond of the UTC calendar month holding `micros`, and of the month after it; *year and *month
// (1-12) name the month when given.
int64_t MonthStartMicros(int64_t micros, int64_t* year = nullptr, unsigned* month = nullptr) noexcept;
int64_t NextMonthStartMicros(int64_t micros) noexcept;

}  // namespace convstore::util
