// The C ABI of erasure (convstore/privacy.h); declarations in convstore.h.
#include <string>

#include "c_support.h"
#include "json_fields.h"
#include "privacy_codec.h"

using convstore::Status;
using namespace convstore::capi;

int convstore_erase_user(convstore_t* db, const char* user_key, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(user_key);
    return Emit(db->store->EraseUser(user_key), out_json, EncodeEraseReport);
  });
}

int convstore_list_erasures(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->ListErasures(), out_json, EncodeErasures);
  });
}

int convstore_finish_erasures(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->FinishErasures(), out_json, EncodeErasures);
  });
}
