// Fuzz target "patch": convstore_update_conversation(db, <existing conversation>, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_update_conversation", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_update_conversation(s.db(), s.conversation_id(), in, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        if (r.json.value("id", "") != s.conversation_id()) r.Fail("the output is not the patched conversation");
      });
}
