// Fuzz target "usage": convstore_record_api_usage(db, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_record_api_usage", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_record_api_usage(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) { RequireStringMember(r.call, r.json, "id", r.out); });
}
