// Fuzz target "archive_options": convstore_archive_now(db, <input>) on the fixture store. The fixture store is in
// memory, so every input is refused — by the options decoder, or by the store (an in-memory store has no file to
// archive) — and nothing is ever written wherever an input's directory points.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_archive_now", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_archive_now(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) { r.Fail("an in-memory store was archived"); });
}
