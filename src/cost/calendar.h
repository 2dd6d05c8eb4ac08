// Calendar arithmetic on int64 µs timestamps (proleptic Gregorian, no time zones beyond a fixed offset).
#pragma once
#include <cstdint>
#include <string>

namespace convstore::cost {

struct CivilDate {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

CivilDate CivilFromDays(int64_t days);            // days since 1970-01-01
int64_t DaysFromCivil(int64_t y, int m, int d);
std::string FormatDate(int64_t days);             // YYYY-MM-DD
std::string FormatMonth(int64_t days);            // YYYY-MM of that day
int64_t WeekStartDays(int64_t days);              // the Monday on or before the day
int64_t MonthStartDays(int64_t days);
int DaysInMonth(int64_t year, int month);

}  // namespace convstore::cost
