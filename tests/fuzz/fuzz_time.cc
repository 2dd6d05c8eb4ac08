// Fuzz target "time": convstore_parse_time(<input>) — the ISO-8601 parser every time given as text goes through.
// Accepted text must give a time inside the documented range that formats back to the same instant; refused text
// gets CONVSTORE_INVALID_ARGUMENT with a message and leaves the output alone.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "convstore/convstore.h"
#include "convstore/limits.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  const char* call = "convstore_parse_time";
  CInput input(data, size);
  constexpr int64_t kUnset = INT64_MIN;
  int64_t us = kUnset;
  char* err = Sentinel();
  int rc = convstore_parse_time(input.c_str(), &us, &err);
  CheckCodeAndMessage(call, rc, us != kUnset, nullptr, err);
  if (rc == CONVSTORE_OK) {
    if (us < convstore::limits::kMinTimestampUs || us > convstore::limits::kMaxTimestampUs)
      Fail(call, "accepted a time outside [kMinTimestampUs, kMaxTimestampUs]", rc, nullptr, err);
    // The instant written back in UTC with microseconds parses to the same value.
    using namespace std::chrono;
    const sys_time<microseconds> at{microseconds{us}};
    const auto day = floor<days>(at);
    const year_month_day ymd{day};
    const hh_mm_ss<microseconds> hms{at - day};
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long long>(hms.hours().count()), static_cast<long long>(hms.minutes().count()),
                  static_cast<long long>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
    int64_t us2 = kUnset;
    char* err2 = Sentinel();
    int rc2 = convstore_parse_time(text, &us2, &err2);
    if (rc2 != CONVSTORE_OK || us2 != us) Fail(call, "the accepted instant does not round-trip", rc2, text, err2);
    convstore_free(err2);
  } else {
    if (rc != CONVSTORE_INVALID_ARGUMENT) Fail(call, "refused text with a code other than invalid_argument", rc, nullptr, err);
    if (us != kUnset) Fail(call, "a refused text wrote the output", rc, nullptr, err);
  }
  convstore_free(err);
  return 0;
}
