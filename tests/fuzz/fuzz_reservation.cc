// Fuzz target "reservation": convstore_reserve(db, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_reserve", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_reserve(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) { RequireStringMember(r.call, r.json, "state", r.out); });
}
