// Fuzz target "audit_query": convstore_read_audit(db, <input>) on the fixture store, and the same input as a saved
// checkpoint for convstore_verify_audit_checkpoint (which must refuse or report it, never accept a forgery: the
// fixture's key signed nothing). Entries come back in sequence order after after_seq, at most `limit` of them.
#include <string>

#include "fuzz_call.h"

namespace {
// RFC 8032's first test vector's public key: no checkpoint of the fixture store was signed by its private half.
const char* const kPublicKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_read_audit", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) {
        char* verdict = nullptr;
        char* verify_err = nullptr;
        if (convstore_verify_audit_checkpoint(s.db(), in, kPublicKey, &verdict, &verify_err) == CONVSTORE_OK) {
          const nlohmann::json v = nlohmann::json::parse(verdict, nullptr, false);
          if (!v.is_object() || v.value("ok", true)) Fail("convstore_verify_audit_checkpoint",
                                                         "accepted a checkpoint nobody signed", 0, verdict, nullptr);
        }
        convstore_free(verdict);
        convstore_free(verify_err);
        return convstore_read_audit(s.db(), in, out, err);
      },
      [](FuzzStore&, const Success& r) {
        if (!r.json.contains("entries") || !r.json["entries"].is_array()) r.Fail("no entries array");
        int64_t previous = 0;
        for (const auto& e : r.json["entries"]) {
          if (!e.is_object() || !e.contains("seq") || !e["seq"].is_number_integer()) r.Fail("an entry without a seq");
          const int64_t seq = e["seq"].get<int64_t>();
          if (seq <= previous) r.Fail("entries out of sequence order");
          previous = seq;
        }
      });
}
