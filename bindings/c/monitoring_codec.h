// JSON <-> C++ records of the metrics capability (convstore/monitoring.h) for the C ABI. Internal to bindings/c;
// pure functions, thread-safe.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "convstore/monitoring.h"
#include "convstore/status.h"

namespace convstore::capi {

// {"type": str, "name": str, "value": number, "unit"?: str, "labels"?: object, "at"?: time}.
Result<MetricPoint> DecodeMetricPoint(std::string_view text);
// A JSON array of points (errors name the element).
Result<std::vector<MetricPoint>> DecodeMetricPoints(std::string_view text);
// {"name": str, "type"?: str, "from": time, "to": time, "labels"?: object, "bucket"?: "none"|"minute"|"hour"|"day"}.
Result<MetricQuery> DecodeMetricQuery(std::string_view text);
std::string EncodeMetricSeries(const MetricSeries& series);
// {"saved"?: bool (default true)}.
Result<StatsOptions> DecodeStatsOptions(std::string_view text);
std::string EncodeStoreStats(const StoreStats& stats);
// {"quick_check"?: bool, and any HealthThresholds field by name ("wal_warn_bytes": int, "budget_warn_fraction":
// number, ...)}.
Result<HealthOptions> DecodeHealthOptions(std::string_view text);
std::string EncodeHealthReport(const HealthReport& report);

}  // namespace convstore::capi
