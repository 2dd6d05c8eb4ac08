// Fuzz target "list_query": convstore_list_conversations(db, <input>). The fixture user "fuzz-user" has three
// conversations, one archived, so small limits page and cursors round-trip.
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
  const char* call = "convstore_list_conversations";
  int rc = convstore_list_conversations(store.db(), input.c_str(), &out, &err);
  nlohmann::json result = CheckCall(call, rc, out, err, Kind::kObject);
  if (rc == CONVSTORE_OK) {
    auto items = result.find("items");
    auto cursor = result.find("next_cursor");
    if (items == result.end() || !items->is_array()) Fail(call, "output lacks an \"items\" array", rc, out, err);
    if (cursor == result.end() || !(cursor->is_null() || cursor->is_string()))
      Fail(call, "output lacks a \"next_cursor\" string or null", rc, out, err);
    if (items->size() > 1000) Fail(call, "more items than the largest page", rc, out, err);
  }
  convstore_free(out);
  convstore_free(err);
  return 0;
}
