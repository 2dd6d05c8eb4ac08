// Fuzz target "text_search": convstore_search_text(db, <input>) on the fixture store (in plain or query syntax, any
// text, any filter). Either a clear refusal, or hits best first — scores non-increasing, at most the limit, each
// with its conversation and, for message hits, its message id and role — and a non-negative unindexed count.
#include <string>

#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_search_text", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_search_text(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) {
        const auto request = nlohmann::json::parse(r.input, nullptr, false);
        const int64_t limit = request.is_object() && request.contains("limit") && request["limit"].is_number_integer()
                                  ? request["limit"].get<int64_t>()
                                  : 10;
        const bool titles = request.is_object() && request.value("target", "") == std::string("conversations");
        const auto& hits = r.json["hits"];
        if (!hits.is_array() || static_cast<int64_t>(hits.size()) > limit) r.Fail("more hits than the limit");
        double last = 1e300;
        for (const auto& h : hits) {
          const double score = h.value("score", -1.0);
          if (score > last) r.Fail("hits not best first");
          last = score;
          if (h.value("conversation_id", "").empty()) r.Fail("a hit without its conversation");
          if (titles != h["message_id"].is_null()) r.Fail("a hit of the wrong kind");
          if (!titles && h.value("role", "").empty()) r.Fail("a message hit without its role");
        }
        if (!r.json["unindexed"].is_number_integer() || r.json["unindexed"].get<int64_t>() < 0)
          r.Fail("no unindexed count");
      });
}
