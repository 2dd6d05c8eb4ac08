// Fuzz target "message_edit": convstore_edit_message(db, <the fixture's message>, <input>).
#include <string>

#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_edit_message", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_edit_message(s.db(), s.message_id(), in, out, err);
      },
      [](FuzzStore& s, const Success& r) {
        if (r.json.value("id", std::string()) != s.message_id()) r.Fail("the edit returned another message");
        if (!r.json.at("metadata").is_object()) r.Fail("an edited message's metadata is not an object");
      });
}
