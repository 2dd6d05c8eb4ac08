#include "vector_codec.h"

#include "json_fields.h"
#include "search_codec.h"

namespace convstore::capi {

namespace {

void WriteIndexSpec(JsonWriter& w, const VectorIndexSpec& spec) {
  w.BeginObject().Key("kind").String("hnsw").Key("m").Int(spec.m).Key("ef_construction").Int(spec.ef_construction);
  w.Key("ef_search").Int(spec.ef_search).EndObject();
}

void WriteSpace(JsonWriter& w, const EmbeddingSpace& s) {
  w.BeginObject();
  w.Key("name").String(s.spec.name);
  w.Key("target").String(EmbeddingTargetName(s.spec.target));
  w.Key("dimension").Int(s.spec.dimension);
  w.Key("metric").String(VectorMetricName(s.spec.metric));
  w.Key("quantization").String(VectorQuantizationName(s.spec.quantization));
  w.Key("vectors").Int(s.vectors);
  WriteTime(w, "created_at", s.created_at);
  w.Key("memory_bytes").Int(s.memory_bytes);
  w.Key("index");
  if (s.index) {
    WriteIndexSpec(w, *s.index);
  } else {
    w.Null();
  }
  w.EndObject();
}

void WriteRow(JsonWriter& w, const VectorHit& h) {
  WriteHitRow(w, h);
  WriteTime(w, "created_at", h.created_at);
}

template <typename E>
Status ReadName(Fields& f, const char* field, E& out, Result<E> (*parse)(std::string_view)) {
  std::string name;
  CONVSTORE_RETURN_IF_ERROR(f.Str(field, name));
  if (name.empty()) return Status::OK();
  auto parsed = parse(name);
  if (!parsed.ok()) return Status::InvalidArgument(fmt::format("'{}': {}", field, parsed.status().message()));
  out = *parsed;
  return Status::OK();
}

}  // namespace

Result<EmbeddingSpaceSpec> DecodeEmbeddingSpaceSpec(std::string_view text) {
  return DecodeObject<EmbeddingSpaceSpec>(text, "embedding space", [](Fields& f, EmbeddingSpaceSpec& s) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("name", s.name));
    CONVSTORE_RETURN_IF_ERROR(ReadName(f, "target", s.target, ParseEmbeddingTarget));
    CONVSTORE_RETURN_IF_ERROR(f.Int("dimension", s.dimension));
    CONVSTORE_RETURN_IF_ERROR(ReadName(f, "metric", s.metric, ParseVectorMetric));
    return ReadName(f, "quantization", s.quantization, ParseVectorQuantization);
  });
}

std::string EncodeEmbeddingSpace(const EmbeddingSpace& space) {
  JsonWriter w;
  WriteSpace(w, space);
  return w.Take();
}

std::string EncodeEmbeddingSpaces(const std::vector<EmbeddingSpace>& spaces) {
  JsonWriter w;
  w.BeginObject().Key("spaces").BeginArray();
  for (const EmbeddingSpace& s : spaces) WriteSpace(w, s);
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::vector<std::string>> DecodeIdList(std::string_view text) {
  auto parsed = util::ParseJson(text, "ids", limits::kMaxRequestBytes, kMaxRequestDepth);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return Status::InvalidArgument("ids must be a JSON array of strings");
  std::vector<std::string> out;
  out.reserve(parsed->size());
  for (const json& id : *parsed) {
    if (!id.is_string()) return Status::InvalidArgument("ids must be a JSON array of strings");
    out.push_back(id.get<std::string>());
  }
  return out;
}

Result<VectorSearchQuery> DecodeVectorSearchQuery(std::string_view text) {
  return DecodeObject<VectorSearchQuery>(text, "vector search query", [](Fields& f, VectorSearchQuery& q) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("space", q.space));
    CONVSTORE_RETURN_IF_ERROR(f.Int("k", q.k));
    CONVSTORE_RETURN_IF_ERROR(f.Int("rescore_factor", q.rescore_factor));
    std::optional<bool> exact;
    CONVSTORE_RETURN_IF_ERROR(f.Bool("exact", exact));
    q.exact = exact.value_or(false);
    CONVSTORE_RETURN_IF_ERROR(f.Int("ef_search", q.ef_search));
    return ReadSearchFilter(f, q.filter);
  });
}

Result<VectorIndexSpec> DecodeVectorIndexSpec(std::string_view text) {
  if (text.empty()) return VectorIndexSpec{};
  return DecodeObject<VectorIndexSpec>(text, "vector index", [](Fields& f, VectorIndexSpec& s) -> Status {
    std::string kind;
    CONVSTORE_RETURN_IF_ERROR(f.Str("kind", kind));
    if (!kind.empty() && kind != "hnsw")
      return Status::InvalidArgument(fmt::format("'kind': '{}' is not an index kind (\"hnsw\")", kind));
    CONVSTORE_RETURN_IF_ERROR(f.Int("m", s.m));
    CONVSTORE_RETURN_IF_ERROR(f.Int("ef_construction", s.ef_construction));
    return f.Int("ef_search", s.ef_search);
  });
}

std::string EncodeVectorIndexInfo(const VectorIndexInfo& info) {
  JsonWriter w;
  w.BeginObject().Key("space").String(info.space).Key("index");
  WriteIndexSpec(w, info.spec);
  w.Key("vectors").Int(info.vectors).Key("memory_bytes").Int(info.memory_bytes);
  w.Key("build_seconds").Double(info.build_seconds);
  w.Key("recall_at_10");
  if (info.recall_at_10 >= 0) {
    w.Double(info.recall_at_10);
  } else {
    w.Null();
  }
  w.Key("recall_queries").Int(info.recall_queries).EndObject();
  return w.Take();
}

std::string EncodeVectorSearchResult(const VectorSearchResult& r) {
  JsonWriter w;
  w.BeginObject().Key("hits").BeginArray();
  for (const VectorHit& h : r.hits) {
    w.BeginObject();
    WriteRow(w, h);
    w.Key("score").Double(h.score);
    w.Key("distance").Double(h.distance);
    w.EndObject();
  }
  w.EndArray();
  w.Key("plan").String(r.plan);
  w.Key("candidates").Int(r.candidates);
  w.EndObject();
  return w.Take();
}

Result<HybridSearchQuery> DecodeHybridSearchQuery(std::string_view text) {
  std::string text_query;
  auto q = DecodeObject<HybridSearchQuery>(text, "hybrid search query", [&](Fields& f, HybridSearchQuery& h) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Doc("text", text_query, true));
    if (text_query.empty()) return Status::InvalidArgument("'text' (a text search query) is required");
    CONVSTORE_RETURN_IF_ERROR(f.Str("space", h.vector.space));
    CONVSTORE_RETURN_IF_ERROR(f.Int("rescore_factor", h.vector.rescore_factor));
    CONVSTORE_RETURN_IF_ERROR(f.Int("limit", h.limit));
    CONVSTORE_RETURN_IF_ERROR(f.Int("candidates", h.candidates));
    std::optional<double> tw, vw;
    CONVSTORE_RETURN_IF_ERROR(f.Double("text_weight", tw));
    CONVSTORE_RETURN_IF_ERROR(f.Double("vector_weight", vw));
    if (tw) h.text_weight = *tw;
    if (vw) h.vector_weight = *vw;
    return f.Int("rrf_k", h.rrf_k);
  });
  if (!q.ok()) return q;
  auto t = DecodeTextSearchQuery(text_query);
  if (!t.ok()) return Status::InvalidArgument("'text': " + t.status().message());
  q->text = std::move(*t);
  return q;
}

std::string EncodeHybridSearchResult(const HybridSearchResult& r) {
  JsonWriter w;
  w.BeginObject().Key("hits").BeginArray();
  for (const HybridHit& h : r.hits) {
    w.BeginObject();
    WriteRow(w, h.row);
    w.Key("score").Double(h.score);
    w.Key("text_rank");
    if (h.text_rank) w.Int(*h.text_rank);
    else w.Null();
    w.Key("vector_rank");
    if (h.vector_rank) w.Int(*h.vector_rank);
    else w.Null();
    w.Key("snippet");
    if (h.text_rank) w.String(h.snippet);
    else w.Null();
    w.Key("vector_score");
    if (h.vector_rank) w.Double(h.row.score);
    else w.Null();
    w.EndObject();
  }
  w.EndArray();
  w.Key("unindexed").Int(r.unindexed);
  w.EndObject();
  return w.Take();
}

}  // namespace convstore::capi
