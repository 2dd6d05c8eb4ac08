// Fuzz target "messages": convstore_add_messages(db, <existing conversation>, <input>) — a batch, all or nothing.
#include <cstddef>
#include <cstdint>

#include "convstore/convstore.h"
#include "fuzz_check.h"
#include "fuzz_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  FuzzStore& store = FuzzStore::Get();
  store.BeginInput(size);
  CInput input(data, size);
  char* out = Sentinel();
  char* err = Sentinel();
  const char* call = "convstore_add_messages";
  int rc = convstore_add_messages(store.db(), store.conversation_id(), input.c_str(), &out, &err);
  nlohmann::json result = CheckCall(call, rc, out, err, Kind::kArray);
  if (rc == CONVSTORE_OK) {
    // One stored message per input element, in input order (the input was accepted, so it parses).
    if (result.size() != nlohmann::json::parse(input.c_str()).size())
      Fail(call, "the output does not have one message per input element", rc, out, err);
    for (const auto& m : result) {
      if (!m.is_object() || m.value("conversation_id", "") != store.conversation_id())
        Fail(call, "an output element is not a message of the conversation", rc, out, err);
    }
  }
  convstore_free(out);
  convstore_free(err);
  return 0;
}
