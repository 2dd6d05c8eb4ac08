// Fuzz target "metric_query": convstore_query_metrics(db, <input>) on the fixture store. Buckets come in time order,
// their counts add up to the points, and every bucket's statistics are ordered (min <= p50 <= p95 <= p99 <= max).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_query_metrics", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_query_metrics(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) {
        int64_t total = 0, previous = INT64_MIN;
        for (const auto& b : r.json["buckets"]) {
          const int64_t start = b.value("start_us", int64_t{0});
          if (start <= previous) r.Fail("buckets out of time order");
          previous = start;
          total += b.value("count", int64_t{0});
          const double mn = b.value("min", 0.0), p50 = b.value("p50", 0.0), p95 = b.value("p95", 0.0),
                       p99 = b.value("p99", 0.0), mx = b.value("max", 0.0);
          if (!(mn <= p50 && p50 <= p95 && p95 <= p99 && p99 <= mx)) r.Fail("statistics out of order");
        }
        if (total != r.json.value("points", int64_t{-1})) r.Fail("bucket counts do not add up to the points");
      });
}
