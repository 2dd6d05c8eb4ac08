// Fuzz target "tool_call": convstore_add_tool_call(db, <existing message>, <input>).
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
  const char* call = "convstore_add_tool_call";
  int rc = convstore_add_tool_call(store.db(), store.message_id(), input.c_str(), &out, &err);
  nlohmann::json result = CheckCall(call, rc, out, err, Kind::kObject);
  if (rc == CONVSTORE_OK) {
    RequireStringMember(call, result, "id", out);
    if (result.value("message_id", "") != store.message_id())
      Fail(call, "the tool call is not on the message it was added to", rc, out, err);
  }
  convstore_free(out);
  convstore_free(err);
  return 0;
}
