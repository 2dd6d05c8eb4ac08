// The C ABI of metrics and statistics (convstore/monitoring.h); declarations in convstore.h.
#include <string>

#include "c_support.h"
#include "json_fields.h"
#include "monitoring_codec.h"

using convstore::Status;
using namespace convstore::capi;

int convstore_record_metric(convstore_t* db, const char* point_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(point_json);
    auto point = DecodeMetricPoint(point_json);
    if (!point.ok()) return point.status();
    return db->store->RecordMetric(*point);
  });
}

int convstore_record_metrics(convstore_t* db, const char* points_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(points_json);
    auto points = DecodeMetricPoints(points_json);
    if (!points.ok()) return points.status();
    return Emit(db->store->RecordMetrics(*points), out_json, [](int64_t n) {
      JsonWriter w;
      w.BeginObject().Key("recorded").Int(n).EndObject();
      return w.Take();
    });
  });
}

int convstore_query_metrics(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto query = DecodeMetricQuery(query_json);
    if (!query.ok()) return query.status();
    return Emit(db->store->QueryMetrics(*query), out_json, EncodeMetricSeries);
  });
}

int convstore_stats(convstore_t* db, const char* options_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    auto options = DecodeStatsOptions(options_json != nullptr ? options_json : "{}");
    if (!options.ok()) return options.status();
    return Emit(db->store->Stats(*options), out_json, EncodeStoreStats);
  });
}

int convstore_set_stats_enabled(convstore_t* db, int enabled, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    if (enabled != 0 && enabled != 1) return Status::InvalidArgument("enabled must be 0 or 1");
    return db->store->SetStatsEnabled(enabled == 1);
  });
}

int convstore_reset_stats(convstore_t* db, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return db->store->ResetStats();
  });
}

int convstore_check_health(convstore_t* db, const char* options_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    auto options = DecodeHealthOptions(options_json != nullptr ? options_json : "{}");
    if (!options.ok()) return options.status();
    return Emit(db->store->CheckHealth(*options), out_json, EncodeHealthReport);
  });
}
