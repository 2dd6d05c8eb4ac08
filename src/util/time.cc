#include "util/time.h"

#include <chrono>
#include <cstdio>

#include "convstore/limits.h"
#include "convstore/status.h"
#include "convstore/store.h"

namespace convstore::util {
namespace {

// Howard Hinnant's civil-date algorithms (public domain).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool Digits(std::string_view s, size_t pos, size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

int64_t SystemNowMicros() noexcept {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t MonthStartMicros(int64_t micros, int64_t* year, unsigned* month) noexcept {
  constexpr int64_t kDay = 86'400'000'000;
  const int64_t days = micros / kDay - (micros % kDay < 0 ? 1 : 0);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  if (year) *year = y;
  if (month) *month = m;
  return DaysFromCivil(y, m, 1) * kDay;
}

int64_t NextMonthStartMicros(int64_t micros) noexcept {
  int64_t y;
  unsigned m;
  MonthStartMicros(micros, &y, &m);
  return DaysFromCivil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86'400'000'000;
}

std::string FormatIso8601(int64_t micros) {
  int64_t secs = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) { frac += 1000000; secs -= 1; }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) { rem += 86400; days -= 1; }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<long long>(y), m, d,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60),
                static_cast<long long>(frac));
  return buf;
}

std::optional<int64_t> ParseIso8601(std::string_view s) noexcept {
  int64_t out = 0;
  return Iso8601Error(s, out) == nullptr ? std::optional<int64_t>(out) : std::nullopt;
}

const char* Iso8601Error(std::string_view s, int64_t& out) noexcept {
  static constexpr const char* kShape =
      "must be ISO-8601 with an offset, such as 2026-02-11T09:30:00Z or 2026-02-11T10:30:00.5+01:00";
  int y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, h) ||
      s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, se))
    return kShape;
  if (y < 1970) return "is before 1970-01-01T00:00:00Z";
  if (mo < 1 || mo > 12) return "has a month outside 01..12";
  if (h > 23) return "has an hour outside 00..23";
  if (mi > 59) return "has a minute outside 00..59";
  if (se == 60)
    return "is a leap second (second 60), which convstore time (microseconds since the epoch, as POSIX time) "
           "cannot represent: use 23:59:59.999999 or the next second";
  if (se > 59) return "has a second outside 00..59";
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d < 1 || d > kDaysIn[mo - 1] + (mo == 2 && leap ? 1 : 0)) return "has a day that is not in its month";
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 6) { frac += (s[pos] - '0') * scale; scale /= 10; }
      ++pos;
    }
    if (pos == start || pos - start > 9) return "has a fraction of a second that is not 1 to 9 digits";
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59)
      return "has an offset that is not +HH:MM or -HH:MM";
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else if (pos == s.size()) {
    return "has no offset: add Z (UTC) or +HH:MM, since a local time is ambiguous";
  } else {
    return kShape;
  }
  if (pos != s.size()) return kShape;
  int64_t secs = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
                 mi * 60 + se - offset_s;
  if (secs < 0) return "is before 1970-01-01T00:00:00Z";
  const int64_t micros = secs * 1000000 + frac;
  if (micros < limits::kMinTimestampUs) return "is before 1973-03-03T09:46:40Z, the earliest time convstore stores";
  if (micros > limits::kMaxTimestampUs) return "is after 9999-12-31T23:59:59.999999Z";
  out = micros;
  return nullptr;
}

}  // namespace convstore::util

namespace convstore {

Result<Micros> ParseTime(std::string_view text) {
  int64_t out = 0;
  if (const char* problem = util::Iso8601Error(text, out))
    return Status::InvalidArgument(std::string("time ") + problem);
  return out;
}

}  // namespace convstore
