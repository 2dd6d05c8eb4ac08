// Fuzz target "price": convstore_add_price(db, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_add_price", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_add_price(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) { RequireStringMember(r.call, r.json, "model", r.out); });
}
