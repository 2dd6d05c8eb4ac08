// JSON <-> C++ records of vector search (convstore/vectors.h) for the C ABI; the vectors themselves cross the ABI as
// float arrays, never as JSON. Internal to bindings/c; pure functions, thread-safe.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "convstore/vectors.h"

namespace convstore::capi {

// {"name", "target"?: "messages"|"conversations", "dimension", "metric"?: "cosine"|"dot"|"l2",
// "quantization"?: "none"|"int8"}.
Result<EmbeddingSpaceSpec> DecodeEmbeddingSpaceSpec(std::string_view text);
std::string EncodeEmbeddingSpace(const EmbeddingSpace& space);
std::string EncodeEmbeddingSpaces(const std::vector<EmbeddingSpace>& spaces);
// A JSON array of ids (strings).
Result<std::vector<std::string>> DecodeIdList(std::string_view text);
// {"space", "k"?, "rescore_factor"?, "exact"?, "ef_search"?, and the filter of a text search}; the vector is given apart.
Result<VectorSearchQuery> DecodeVectorSearchQuery(std::string_view text);
std::string EncodeVectorSearchResult(const VectorSearchResult& result);
// {"kind"?: "hnsw", "m"?, "ef_construction"?, "ef_search"?}; "" or "{}": the defaults.
Result<VectorIndexSpec> DecodeVectorIndexSpec(std::string_view text);
std::string EncodeVectorIndexInfo(const VectorIndexInfo& info);
// {"text": a text search query (its filter is used for both lists), "space", "rescore_factor"?, "limit"?,
// "candidates"?, "text_weight"?, "vector_weight"?, "rrf_k"?}; the vector is given apart.
Result<HybridSearchQuery> DecodeHybridSearchQuery(std::string_view text);
std::string EncodeHybridSearchResult(const HybridSearchResult& result);

}  // namespace convstore::capi
