// Fuzz target "metric_points": convstore_record_metrics(db, <input>) on the fixture store, and the same input as one
// point (convstore_record_metric). An accepted batch reports as many points as it held.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_record_metrics", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        char* single_err = nullptr;
        (void)convstore_record_metric(s.db(), in, &single_err);
        convstore_free(single_err);
        return convstore_record_metrics(s.db(), in, out, err);
      },
      [](FuzzStore&, const Success& r) {
        const nlohmann::json in = nlohmann::json::parse(r.input, nullptr, false);
        if (!in.is_array() || r.json.value("recorded", int64_t{-1}) != static_cast<int64_t>(in.size()))
          r.Fail("the batch's count is not the number of points it held");
      });
}
