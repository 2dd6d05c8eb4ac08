// Fuzz target "tool_call": convstore_add_tool_call(db, <existing message>, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_add_tool_call", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_add_tool_call(s.db(), s.message_id(), in, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        RequireStringMember(r.call, r.json, "id", r.out);
        if (r.json.value("message_id", "") != s.message_id()) r.Fail("the tool call is not on the message it was added to");
      });
}
