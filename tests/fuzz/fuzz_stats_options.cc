// Fuzz target "stats_options": convstore_stats(db, <input>) on the fixture store. Either a clear refusal, or
// statistics whose operations come largest total first with consistent times (min <= mean <= max, total = mean x
// calls) and no negative counter; a reset then leaves only itself counted.
#include <cmath>
#include <string>

#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_stats", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_stats(s.db(), in, out, err); },
      [](FuzzStore& s, const Success& r) {
        double previous = 1e300;
        for (const auto& o : r.json["operations"]) {
          const double total = o.value("total_us", -1.0), mean = o.value("mean_us", -1.0);
          const double mn = o.value("min_us", -1.0), mx = o.value("max_us", -1.0);
          const int64_t calls = o.value("calls", int64_t{-1});
          if (total > previous) r.Fail("operations not largest total first");
          previous = total;
          if (calls <= 0 || o.value("errors", int64_t{-1}) < 0 || o.value("rows", int64_t{-1}) < 0)
            r.Fail("a counter out of range");
          if (!(0 <= mn && mn <= mean * (1 + 1e-9) && mean <= mx * (1 + 1e-9))) r.Fail("times out of order");
          if (std::abs(mean * static_cast<double>(calls) - total) > 1e-6 * total + 1e-6) r.Fail("total != mean x calls");
        }
        for (const char* k : {"cache_hits", "cache_misses", "cache_writes", "wal_bytes", "checkpoints"})
          if (r.json.value(k, int64_t{-1}) < 0) r.Fail("a negative store counter");
        char* err = nullptr;
        if (convstore_reset_stats(s.db(), &err) != CONVSTORE_OK) r.Fail("reset_stats failed");
        convstore_free(err);
      });
}
