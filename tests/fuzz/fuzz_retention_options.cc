// Fuzz target "retention_options": convstore_apply_retention(db, <input>) on the fixture store. Every count is
// non-negative, a run that removed anything took at least one batch, and the rollups still verify against the
// raw rows plus the retained cost.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_apply_retention", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_apply_retention(s.db(), in, nullptr, nullptr, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        int64_t removed = 0;
        for (const char* k : {"conversations", "messages", "tool_calls", "tombstones", "api_usage", "metrics",
                              "audit_entries", "journal_entries", "batches", "longest_batch_us", "duration_us"}) {
          const int64_t v = r.json.value(k, int64_t{-1});
          if (v < 0) r.Fail("a count is missing or negative");
          if (std::string_view(k) != "batches" && std::string_view(k) != "longest_batch_us" &&
              std::string_view(k) != "duration_us")
            removed += v;
        }
        if (removed > 0 && r.json.value("batches", int64_t{0}) == 0) r.Fail("rows removed without a batch");
        ExpectRollupsVerify(s, r);
      });
}
