// Fuzz target "sync_options": convstore_sync_to_postgres(db, <input>) on the fixture store. The fixture store is in
// memory, so every input is refused — by the options decoder, or by the store (an in-memory store cannot be
// synced) — and no connection is ever attempted wherever an input's connection string points.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_sync_to_postgres", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_sync_to_postgres(s.db(), in, out, err);
      },
      [](FuzzStore&, const Success& r) { r.Fail("an in-memory store was synced"); });
}
