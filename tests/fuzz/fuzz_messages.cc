// Fuzz target "messages": convstore_add_messages(db, <existing conversation>, <input>).
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_add_messages", Kind::kArray,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_add_messages(s.db(), s.conversation_id(), in, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        // One stored message per input element, in input order (the input was accepted, so it parses).
        if (r.json.size() != nlohmann::json::parse(r.input).size())
          r.Fail("the output does not have one message per input element");
        for (const auto& m : r.json)
          if (!m.is_object() || m.value("conversation_id", "") != s.conversation_id())
            r.Fail("an output element is not a message of the conversation");
      });
}
