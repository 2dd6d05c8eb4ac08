// Fuzz target "list_query": convstore_list_conversations(db, <input>). The fixture user "fuzz-user" has three
// conversations, one archived, so small limits page and cursors round-trip.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_list_conversations", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_list_conversations(s.db(), in, out, err);
      },
      [](FuzzStore&, const Success& r) {
        auto items = r.json.find("items");
        auto cursor = r.json.find("next_cursor");
        if (items == r.json.end() || !items->is_array()) r.Fail("output lacks an \"items\" array");
        if (cursor == r.json.end() || !(cursor->is_null() || cursor->is_string()))
          r.Fail("output lacks a \"next_cursor\" string or null");
        if (items->size() > 1000) r.Fail("more items than the largest page");
      });
}
