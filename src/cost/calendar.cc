#include "cost/calendar.h"

#include <fmt/format.h>

#include "cost/rollups.h"

namespace convstore::cost {

// After Howard Hinnant's civil_from_days / days_from_civil.
CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string FormatDate(int64_t days) {
  CivilDate c = CivilFromDays(days);
  return fmt::format("{:04}-{:02}-{:02}", c.year, c.month, c.day);
}

std::string FormatMonth(int64_t days) {
  CivilDate c = CivilFromDays(days);
  return fmt::format("{:04}-{:02}", c.year, c.month);
}

int64_t WeekStartDays(int64_t days) {
  // 1970-01-01 was a Thursday: (days + 3) mod 7 is 0 on Mondays.
  int64_t dow = (days + 3) % 7;
  if (dow < 0) dow += 7;
  return days - dow;
}

int64_t MonthStartDays(int64_t days) {
  CivilDate c = CivilFromDays(days);
  return DaysFromCivil(c.year, c.month, 1);
}

int DaysInMonth(int64_t year, int month) {
  int64_t next = month == 12 ? DaysFromCivil(year + 1, 1, 1) : DaysFromCivil(year, month + 1, 1);
  return static_cast<int>(next - DaysFromCivil(year, month, 1));
}

}  // namespace convstore::cost
