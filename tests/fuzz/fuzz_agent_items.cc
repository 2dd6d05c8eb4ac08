// Fuzz target "agent_items": convstore_add_agent_items(db, <the fixture's conversation>, <input>, NULL); when it
// succeeds, the newest item is read back with convstore_get_items.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_add_agent_items", Kind::kArray,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        int64_t added = -1;
        const int rc = convstore_add_agent_items(s.db(), s.conversation_id(), in, nullptr, &added, err);
        if (rc != CONVSTORE_OK) {
          *out = nullptr;
          return rc;
        }
        if (added < 0) Fail("convstore_add_agent_items", "succeeded without a count", rc, nullptr, nullptr);
        return convstore_get_items(s.db(), s.conversation_id(), 1, out, err);
      },
      [](FuzzStore&, const Success& r) {
        if (r.json.size() > 1) r.Fail("get_items(1) returned more than one item");
      });
}
