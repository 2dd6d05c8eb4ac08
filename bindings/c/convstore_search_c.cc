// The C ABI of full-text search (convstore/search.h); declarations in convstore.h.
#include <string>

#include "c_support.h"
#include "json_fields.h"
#include "search_codec.h"

using convstore::Status;
using namespace convstore::capi;

int convstore_search_text(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto query = DecodeTextSearchQuery(query_json);
    if (!query.ok()) return query.status();
    return Emit(db->store->SearchText(*query), out_json, EncodeTextSearchResult);
  });
}

int convstore_search_status(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->GetSearchStatus(), out_json, EncodeSearchIndexStatus);
  });
}

int convstore_catch_up_search_index(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->CatchUpSearchIndex(), out_json, EncodeSearchIndexReport);
  });
}

int convstore_purge_search_index(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->PurgeSearchIndex(), out_json, EncodeSearchIndexReport);
  });
}

int convstore_rebuild_search_index(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->RebuildSearchIndex(), out_json, EncodeSearchIndexReport);
  });
}

int convstore_verify_search_index(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->VerifySearchIndex(), out_json, EncodeSearchIndexReport);
  });
}

int convstore_set_background_indexing(convstore_t* db, int enabled, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    if (enabled != 0 && enabled != 1) return Status::InvalidArgument("enabled must be 0 or 1");
    return db->store->SetBackgroundIndexing(enabled == 1);
  });
}

int convstore_set_text_tokenizer(convstore_t* db, const char* tokenizer, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(tokenizer);
    auto t = convstore::ParseTextTokenizer(tokenizer);
    if (!t.ok()) return t.status();
    return Emit(db->store->SetTextTokenizer(*t), out_json, EncodeSearchIndexReport);
  });
}
