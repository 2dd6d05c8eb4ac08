// The C ABI of the cost engine: prices, API usage, summaries, rollup checks, budgets and reservations.
#include "c_support.h"
#include "cost_codec.h"
#include "json_codec.h"

using namespace convstore::capi;  // NOLINT: Guard, Emit, NullArg, CHECK_* plumbing
namespace capi = convstore::capi;

extern "C" {

int convstore_add_price(convstore_t* db, const char* price_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(price_json);
    auto in = capi::DecodePrice(price_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->AddPrice(*in), out_json, capi::EncodePrice);
  });
}

int convstore_list_prices(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->ListPrices(), out_json, capi::EncodePrices);
  });
}

int convstore_resolve_price(convstore_t* db, const char* model, int64_t at_us, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(model);
    return Emit(db->store->ResolvePrice(model, at_us), out_json, capi::EncodePrice);
  });
}

int convstore_reprice(convstore_t* db, const char* range_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(range_json);
    auto range = capi::DecodeRange(range_json);
    if (!range.ok()) return range.status();
    return Emit(db->store->Reprice(range->first, range->second), out_json, capi::EncodeRepriceReport);
  });
}

int convstore_record_api_usage(convstore_t* db, const char* usage_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(usage_json);
    auto in = capi::DecodeApiUsage(usage_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->RecordApiUsage(*in), out_json, capi::EncodeApiUsage);
  });
}

int convstore_cost_summary(convstore_t* db, const char* filter_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(filter_json);
    auto in = capi::DecodeCostFilter(filter_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->GetCostSummary(*in), out_json, capi::EncodeCostSummary);
  });
}

int convstore_group_costs(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto in = capi::DecodeGroupQuery(query_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->GroupCosts(in->first, in->second), out_json, capi::EncodeCostGroups);
  });
}

int convstore_usage_stats(convstore_t* db, const char* filter_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(filter_json);
    auto in = capi::DecodeCostFilter(filter_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->GetUsageStats(*in), out_json, capi::EncodeUsageStats);
  });
}

int convstore_team_spend(convstore_t* db, const char* team_key, int lookback_days, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(team_key);
    return Emit(db->store->GetTeamSpend(team_key, lookback_days), out_json, capi::EncodeTeamSpend);
  });
}

int convstore_cost_report(convstore_t* db, const char* options_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto in = capi::DecodeCostReportOptions(options_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->GetCostReport(*in), out_json, capi::EncodeCostReport);
  });
}

int convstore_verify_rollups(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->VerifyRollups(), out_json, capi::EncodeRollupReport);
  });
}

int convstore_rebuild_rollups(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->RebuildRollups(), out_json, capi::EncodeRollupReport);
  });
}

int convstore_set_budget(convstore_t* db, const char* budget_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(budget_json);
    auto in = capi::DecodeBudget(budget_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->SetBudget(*in), out_json, capi::EncodeBudgetState);
  });
}

int convstore_delete_budget(convstore_t* db, const char* name, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(name);
    return db->store->DeleteBudget(name);
  });
}

int convstore_get_budgets(convstore_t* db, double min_used_fraction, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->GetBudgets(min_used_fraction), out_json, capi::EncodeBudgetStates);
  });
}

int convstore_reserve(convstore_t* db, const char* request_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(request_json);
    auto in = capi::DecodeReserve(request_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->Reserve(*in), out_json, capi::EncodeReservation);
  });
}

int convstore_settle(convstore_t* db, const char* request_id, const char* usage_json, char** out_json,
                     char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(request_id);
    CHECK_ARG(usage_json);
    auto in = capi::DecodeApiUsage(usage_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->Settle(request_id, *in), out_json, capi::EncodeApiUsage);
  });
}

int convstore_release(convstore_t* db, const char* request_id, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(request_id);
    return Emit(db->store->Release(request_id), out_json, capi::EncodeReservation);
  });
}

}  // extern "C"
