// Fuzz target "time": convstore_parse_time(<input>) — the ISO-8601 parser every time given as text goes through.
// Accepted text must give a time inside the documented range that formats back to the same instant; refused text
// gets CONVSTORE_INVALID_ARGUMENT with a message and leaves the output alone.
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
    const int64_t secs = us / 1000000;
    int64_t us2 = kUnset;
    char text[64];
    const int64_t days = secs / 86400, rem = secs % 86400;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    const int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
    std::snprintf(text, sizeof text, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(y),
                  static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                  static_cast<long long>(us % 1000000));
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
