// Fuzz target "cost_filter": convstore_cost_summary(db, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_cost_summary", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_cost_summary(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) { RequireStringMember(r.call, r.json, "plan", r.out); });
}
