// Fuzz target "message": convstore_add_message(db, <existing conversation>, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_add_message", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_add_message(s.db(), s.conversation_id(), in, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        RequireStringMember(r.call, r.json, "id", r.out);
        if (r.json.value("conversation_id", "") != s.conversation_id())
          r.Fail("the message is not in the conversation it was added to");
      });
}
