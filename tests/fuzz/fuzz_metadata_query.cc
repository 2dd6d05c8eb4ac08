// Fuzz target "metadata_query": convstore_search_metadata(db, <input>) — the metadata filter language (containment
// documents, path conditions, cursors, ordinary filters) against a store whose fixtures carry metadata.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_search_metadata", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        return convstore_search_metadata(s.db(), in, out, err);
      },
      [](FuzzStore&, const Success& r) {
        RequireStringMember(r.call, r.json, "target", r.out);
        if (!r.json.contains("items") || !r.json["items"].is_array() || !r.json.contains("plan") ||
            !r.json["plan"].is_object())
          Fail(r.call, "output lacks \"items\" or \"plan\"", CONVSTORE_OK, r.out, nullptr);
        RequireStringMember(r.call, r.json["plan"], "strategy", r.out);
      });
}
