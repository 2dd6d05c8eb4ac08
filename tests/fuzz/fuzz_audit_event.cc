// Fuzz target "audit_event": convstore_log_event(db, <input>) on the fixture store, then the same input as the
// thread's audit context. An accepted entry is the next of the chain (its prev_hash the previous head), and the
// whole chain still verifies after it.
#include <string>

#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_log_event", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        int rc = convstore_log_event(s.db(), in, out, err);
        char* context_err = nullptr;
        if (convstore_set_audit_context(s.db(), in, &context_err) == CONVSTORE_OK)
          (void)convstore_set_audit_context(s.db(), "{}", nullptr);  // leave the fixture as it was
        convstore_free(context_err);
        return rc;
      },
      [](FuzzStore& s, const Success& r) {
        if (!r.json.contains("hash") || !r.json["hash"].is_string() || r.json["hash"].get<std::string>().size() != 64)
          r.Fail("an entry without a 64-digit hash");
        if (!r.json.contains("details") || !r.json["details"].is_object()) r.Fail("details that are not an object");
        char* out = nullptr;
        if (convstore_verify_audit(s.db(), &out, nullptr) != CONVSTORE_OK) r.Fail("verify_audit failed");
        const nlohmann::json v = nlohmann::json::parse(out, nullptr, false);
        convstore_free(out);
        if (!v.is_object() || v.value("ok", false) != true) r.Fail("the chain does not verify after an entry");
        if (v.value("head_hash", std::string()) != r.json["hash"].get<std::string>())
          r.Fail("the accepted entry is not the chain's head");
      });
}
