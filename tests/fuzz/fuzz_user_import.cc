// Fuzz target "user_import": convstore_import_user on the fixture store with <input> as the export (read through
// the read callback in pieces of at most 4,096 bytes). A damaged export is refused with nothing written; an accepted
// one reports non-negative counts, and the rollups still verify (the imported spend counted once).
#include <algorithm>
#include <cstring>

#include "fuzz_call.h"

namespace {

struct Input {
  const char* data;
  size_t size;
};

int64_t ReadInput(void* user_data, char* buffer, size_t capacity) {
  auto* in = static_cast<Input*>(user_data);
  const size_t n = std::min({capacity, in->size, size_t{4096}});
  std::memcpy(buffer, in->data, n);
  in->data += n;
  in->size -= n;
  return static_cast<int64_t>(n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_import_user", Kind::kObject,
      [size](FuzzStore& s, const char* in, char** out, char** err) {
        Input input{in, size};
        return convstore_import_user(s.db(), "{}", ReadInput, nullptr, &input, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        const auto counts = r.json.value("counts", nlohmann::json::object());
        for (const char* k : {"conversations", "messages", "tool_calls", "deleted_messages", "api_usage", "budgets",
                              "audit_entries"})
          if (counts.value(k, int64_t{-1}) < 0) r.Fail("a count is missing or negative");
        if (r.json.value("cost_nanousd", int64_t{-1}) < 0) r.Fail("the imported spend is missing or negative");
        ExpectRollupsVerify(s, r);
      });
}
