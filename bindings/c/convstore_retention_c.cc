// The C ABI of retention (convstore/retention.h); declarations in convstore.h.
#include <string>

#include "c_support.h"
#include "json_fields.h"
#include "retention_codec.h"

using convstore::Status;
using namespace convstore::capi;

int convstore_set_retention_policy(convstore_t* db, const char* policy_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(policy_json);
    auto policy = DecodeRetentionPolicy(policy_json);
    if (!policy.ok()) return policy.status();
    return db->store->SetRetentionPolicy(*policy);
  });
}

int convstore_get_retention_policy(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->GetRetentionPolicy(), out_json, EncodeRetentionPolicy);
  });
}

int convstore_apply_retention(convstore_t* db, const char* options_json, convstore_progress_fn progress,
                              void* user_data, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    auto options = options_json == nullptr ? convstore::Result<convstore::RetentionOptions>(convstore::RetentionOptions{})
                                           : DecodeRetentionOptions(options_json);
    if (!options.ok()) return options.status();
    if (progress != nullptr) {
      options->on_progress = [progress, user_data](const convstore::RetentionProgress& p) {
        const std::string kind(p.kind);
        progress(user_data, kind.c_str(), p.rows_done, -1);
      };
    }
    return Emit(db->store->ApplyRetention(*options), out_json, EncodeRetentionReport);
  });
}

int convstore_start_retention(convstore_t* db, int64_t interval_us, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return db->store->StartRetention(interval_us);
  });
}

int convstore_stop_retention(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->StopRetention(), out_json, EncodeRetentionStatus);
  });
}

int convstore_retention_status(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->GetRetentionStatus(), out_json, EncodeRetentionStatus);
  });
}
