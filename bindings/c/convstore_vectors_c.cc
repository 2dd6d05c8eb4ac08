// The C ABI of vector search (convstore/vectors.h); declarations in convstore.h. Vectors cross as float arrays.
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "c_support.h"
#include "convstore/limits.h"
#include "util/status_macros.h"
#include "vector_codec.h"

using convstore::Status;
using namespace convstore::capi;

namespace {

// `count` vectors of `dimension` floats from `values` (row-major), refused when they cannot be real.
Status CheckVectorArgs(const float* values, int64_t dimension, int64_t count) {
  if (values == nullptr) return NullArg("vectors");
  if (dimension < 1 || dimension > convstore::limits::kMaxEmbeddingDimension)
    return Status::InvalidArgument(
        fmt::format("dimension must be 1 to {}", convstore::limits::kMaxEmbeddingDimension));
  if (count < 1 || static_cast<uint64_t>(count) > convstore::limits::kMaxEmbeddingsPerPut)
    return Status::InvalidArgument(
        fmt::format("1 to {} vectors per call", convstore::limits::kMaxEmbeddingsPerPut));
  return Status::OK();
}

}  // namespace

int convstore_create_embedding_space(convstore_t* db, const char* spec_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(spec_json);
    auto spec = DecodeEmbeddingSpaceSpec(spec_json);
    if (!spec.ok()) return spec.status();
    return Emit(db->store->CreateEmbeddingSpace(*spec), out_json, EncodeEmbeddingSpace);
  });
}

int convstore_list_embedding_spaces(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->ListEmbeddingSpaces(), out_json, EncodeEmbeddingSpaces);
  });
}

int convstore_drop_embedding_space(convstore_t* db, const char* name, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(name);
    return db->store->DropEmbeddingSpace(name);
  });
}

int convstore_put_embeddings(convstore_t* db, const char* space, const char* ids_json, const float* vectors,
                             int64_t dimension, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(space);
    CHECK_ARG(ids_json);
    auto ids = DecodeIdList(ids_json);
    if (!ids.ok()) return ids.status();
    CONVSTORE_RETURN_IF_ERROR(CheckVectorArgs(vectors, dimension, static_cast<int64_t>(ids->size())));
    std::vector<convstore::EmbeddingInput> rows(ids->size());
    const auto dim = static_cast<size_t>(dimension);
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i].id = std::move((*ids)[i]);
      rows[i].vector.assign(vectors + i * dim, vectors + (i + 1) * dim);
    }
    return db->store->PutEmbeddings(space, rows);
  });
}

int convstore_delete_embedding(convstore_t* db, const char* space, const char* id, int* deleted, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    if (deleted != nullptr) *deleted = 0;
    CHECK_HANDLE(db);
    CHECK_ARG(space);
    CHECK_ARG(id);
    auto r = db->store->DeleteEmbedding(space, id);
    if (!r.ok()) return r.status();
    if (deleted != nullptr) *deleted = *r ? 1 : 0;
    return Status::OK();
  });
}

int convstore_get_embedding(convstore_t* db, const char* space, const char* id, float** out, int64_t* dimension,
                            char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    if (out != nullptr) *out = nullptr;
    if (dimension != nullptr) *dimension = 0;
    CHECK_HANDLE(db);
    CHECK_ARG(space);
    CHECK_ARG(id);
    CHECK_ARG(out);
    CHECK_ARG(dimension);
    auto r = db->store->GetEmbedding(space, id);
    if (!r.ok()) return r.status();
    if (!r->has_value()) return Status::OK();
    const std::vector<float>& v = **r;
    auto* copy = static_cast<float*>(std::malloc(v.size() * sizeof(float)));
    if (copy == nullptr) return Status::Internal("out of memory");
    std::memcpy(copy, v.data(), v.size() * sizeof(float));
    *out = copy;
    *dimension = static_cast<int64_t>(v.size());
    return Status::OK();
  });
}

int convstore_search_vectors(convstore_t* db, const char* query_json, const float* vector, int64_t dimension,
                             char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    CONVSTORE_RETURN_IF_ERROR(CheckVectorArgs(vector, dimension, 1));
    auto query = DecodeVectorSearchQuery(query_json);
    if (!query.ok()) return query.status();
    query->vector.assign(vector, vector + dimension);
    return Emit(db->store->SearchVectors(*query), out_json, EncodeVectorSearchResult);
  });
}

int convstore_search_hybrid(convstore_t* db, const char* query_json, const float* vector, int64_t dimension,
                            char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    CONVSTORE_RETURN_IF_ERROR(CheckVectorArgs(vector, dimension, 1));
    auto query = DecodeHybridSearchQuery(query_json);
    if (!query.ok()) return query.status();
    query->vector.vector.assign(vector, vector + dimension);
    return Emit(db->store->SearchHybrid(*query), out_json, EncodeHybridSearchResult);
  });
}

int convstore_set_vector_memory_budget(convstore_t* db, int64_t bytes, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return db->store->SetVectorMemoryBudget(bytes);
  });
}

int convstore_create_vector_index(convstore_t* db, const char* space, const char* spec_json, char** out_json,
                                  char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(space);
    auto spec = DecodeVectorIndexSpec(spec_json == nullptr ? "" : spec_json);
    if (!spec.ok()) return spec.status();
    return Emit(db->store->CreateVectorIndex(space, *spec), out_json, EncodeVectorIndexInfo);
  });
}

int convstore_drop_vector_index(convstore_t* db, const char* space, int* dropped, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    if (dropped != nullptr) *dropped = 0;
    CHECK_HANDLE(db);
    CHECK_ARG(space);
    auto r = db->store->DropVectorIndex(space);
    if (!r.ok()) return r.status();
    if (dropped != nullptr) *dropped = *r ? 1 : 0;
    return Status::OK();
  });
}
