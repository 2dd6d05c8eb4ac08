// Fuzz target "vector_search": convstore_search_vectors(db, <input>, a vector of 4 floats) on the fixture store,
// whose message has a vector in the space "f" (dimension 4, cosine), and convstore_search_hybrid with the same input
// when it holds "text", and convstore_create_vector_index(db, "f", <input>) when it holds "\"m\"" or "ef_" but no
// "\"space\"" (an index spec). Either a clear refusal, or hits closest first (scores non-increasing), at most k (hybrid: the limit), never
// more than the rows the filter left; or the index's report with the spec asked for.
#include <string>

#include "fuzz_call.h"

namespace {

// The space and the fixture message's vector, made once per fixture store.
void EnsureSpace(convstore_fuzz::FuzzStore& s) {
  static convstore_t* made_for = nullptr;
  if (made_for == s.db()) return;
  char* out = nullptr;
  char* err = nullptr;
  if (convstore_create_embedding_space(s.db(), R"({"name":"f","dimension":4})", &out, &err) != CONVSTORE_OK)
    convstore_fuzz::Fail("convstore_create_embedding_space", "the fixture's space", 0, out, err);
  convstore_free(out);
  const float v[4] = {0.5f, -1, 2, 0.25f};
  const std::string ids = std::string("[\"") + s.message_id() + "\"]";
  if (convstore_put_embeddings(s.db(), "f", ids.c_str(), v, 4, &err) != CONVSTORE_OK)
    convstore_fuzz::Fail("convstore_put_embeddings", "the fixture's vector", 0, nullptr, err);
  made_for = s.db();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const bool hybrid = input.find("\"text\"") != std::string::npos;
  const bool index_spec = input.find("\"space\"") == std::string::npos &&
                          (input.find("\"m\"") != std::string::npos || input.find("ef_") != std::string::npos);
  if (!hybrid && index_spec)
    return FuzzStoreCall(
        data, size, "convstore_create_vector_index", Kind::kObject,
        [](FuzzStore& s, const char* in, char** out, char** err) {
          EnsureSpace(s);
          return convstore_create_vector_index(s.db(), "f", in, out, err);
        },
        [](FuzzStore&, const Success& r) {
          const auto request = nlohmann::json::parse(r.input, nullptr, false);
          const auto& index = r.json["index"];
          if (!index.is_object() || index.value("kind", "") != "hnsw") r.Fail("no index in the report");
          if (request.is_object() && request.contains("m") && request["m"] != index["m"]) r.Fail("another m");
          if (!r.json["vectors"].is_number_integer() || r.json["vectors"].get<int64_t>() < 0)
            r.Fail("no vector count");
        });
  return FuzzStoreCall(
      data, size, hybrid ? "convstore_search_hybrid" : "convstore_search_vectors", Kind::kObject,
      [hybrid](FuzzStore& s, const char* in, char** out, char** err) {
        EnsureSpace(s);
        const float q[4] = {1, 0, 0.5f, -2};
        return hybrid ? convstore_search_hybrid(s.db(), in, q, 4, out, err)
                      : convstore_search_vectors(s.db(), in, q, 4, out, err);
      },
      [hybrid](FuzzStore&, const Success& r) {
        const auto request = nlohmann::json::parse(r.input, nullptr, false);
        const char* bound = hybrid ? "limit" : "k";
        const int64_t most = request.is_object() && request.contains(bound) && request[bound].is_number_integer()
                                 ? request[bound].get<int64_t>()
                                 : 10;
        const auto& hits = r.json["hits"];
        if (!hits.is_array() || static_cast<int64_t>(hits.size()) > most) r.Fail("more hits than asked for");
        double last = 1e300;
        for (const auto& h : hits) {
          const double score = h.value("score", -1e300);
          if (score > last) r.Fail("hits not best first");
          last = score;
          if (h.value("conversation_id", "").empty()) r.Fail("a hit without its conversation");
        }
        if (!hybrid && (!r.json["candidates"].is_number_integer() ||
                        r.json["candidates"].get<int64_t>() < static_cast<int64_t>(hits.size())))
          r.Fail("fewer candidates than hits");
      });
}
