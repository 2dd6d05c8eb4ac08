// Fuzz target "context": convstore_get_context_with_options(db, <existing conversation>, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_get_context_with_options", Kind::kArray,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_get_context_with_options(s.db(), s.conversation_id(), in, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        // Messages of the conversation, in position order (the system prompt, when present, at -1 first).
        int64_t last = -2;
        for (const auto& m : r.json) {
          if (!m.is_object() || m.value("conversation_id", "") != s.conversation_id())
            r.Fail("an output element is not a message of the conversation");
          const int64_t position = m.value("position", int64_t{-3});
          if (position <= last) r.Fail("the window is not in position order");
          last = position;
        }
      });
}
