// Fuzz target "global_budget_options": convstore_use_global_budgets(db, <input>) and
// convstore_set_global_budget(db, <input>) on the fixture store. The fixture store is in memory and never uses
// global budgets, so every input is refused — by the decoders, by the budget's validation, or by the store — and
// no connection is ever attempted wherever an input's connection string points.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_use_global_budgets", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        *out = nullptr;
        int rc = convstore_use_global_budgets(s.db(), in, err);
        if (rc == CONVSTORE_OK) return rc;
        convstore_free(*err);
        *err = nullptr;
        rc = convstore_set_global_budget(s.db(), in, err);
        return rc;
      },
      [](FuzzStore&, const Success& r) { r.Fail("global budgets were used or set on an in-memory store"); });
}
