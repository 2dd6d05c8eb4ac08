// The C ABI of metadata search: search, explain, verify, rebuild and excluded paths.
#include "c_support.h"
#include "metadata_codec.h"

using namespace convstore::capi;  // NOLINT: Guard, Emit, CHECK_* plumbing
namespace capi = convstore::capi;

extern "C" {

int convstore_search_metadata(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto q = capi::DecodeMetadataQuery(query_json);
    if (!q.ok()) return q.status();
    return Emit(db->store->SearchMetadata(*q), out_json, capi::EncodeMetadataSearchResult);
  });
}

int convstore_explain_metadata(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto q = capi::DecodeMetadataQuery(query_json);
    if (!q.ok()) return q.status();
    return Emit(db->store->ExplainMetadata(*q), out_json, capi::EncodeMetadataPlan);
  });
}

int convstore_verify_metadata_index(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->VerifyMetadataIndex(), out_json, capi::EncodeMetadataIndexReport);
  });
}

int convstore_rebuild_metadata_index(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->RebuildMetadataIndex(), out_json, capi::EncodeMetadataIndexReport);
  });
}

int convstore_set_metadata_excluded_paths(convstore_t* db, const char* paths_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(paths_json);
    auto paths = capi::DecodePathList(paths_json);
    if (!paths.ok()) return paths.status();
    return Emit(db->store->SetMetadataExcludedPaths(*paths), out_json, capi::EncodeMetadataIndexReport);
  });
}

}  // extern "C"
