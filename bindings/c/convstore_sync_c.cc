// The C ABI of the sync into PostgreSQL (convstore/sync.h); declarations in convstore.h.
#include <cstdint>
#include <string>

#include "c_support.h"
#include "cost_codec.h"
#include "sync_codec.h"

using convstore::Status;
using namespace convstore::capi;

int convstore_sync_to_postgres(convstore_t* db, const char* options_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = DecodeSyncOptions(options_json);
    if (!options.ok()) return options.status();
    return Emit(db->store->SyncToPostgres(*options), out_json, EncodeSyncReport);
  });
}

int convstore_start_sync(convstore_t* db, const char* options_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = DecodeSyncOptions(options_json);
    if (!options.ok()) return options.status();
    return db->store->StartSync(*options);
  });
}

int convstore_stop_sync(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->StopSync(), out_json, EncodeSyncReport);
  });
}

int convstore_sync_status(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->GetSyncStatus(), out_json, EncodeSyncStatus);
  });
}

int convstore_use_global_budgets(convstore_t* db, const char* options_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = DecodeGlobalBudgetOptions(options_json);
    if (!options.ok()) return options.status();
    return db->store->UseGlobalBudgets(*options);
  });
}

int convstore_set_global_budget(convstore_t* db, const char* budget_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(budget_json);
    auto budget = DecodeBudget(budget_json);
    if (!budget.ok()) return budget.status();
    return db->store->SetGlobalBudget(*budget);
  });
}

int convstore_delete_global_budget(convstore_t* db, const char* name, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(name);
    return db->store->DeleteGlobalBudget(name);
  });
}

int convstore_global_budgets(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->ListGlobalBudgets(), out_json, EncodeGlobalBudgets);
  });
}
