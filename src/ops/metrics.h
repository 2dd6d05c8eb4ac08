// The metrics time series (convstore/monitoring.h): checking points, appending them, querying one metric's buckets
// with exact percentiles, and retention's range delete.
//
// Rows are appended in the order they are recorded, which for live recording is time order, so the table is
// clustered by time and retention removes a contiguous range of its oldest pages. An index on (name, at, value)
// answers a query's range without touching the table when it filters on nothing else; type and label filters read
// the rows. Percentiles are computed from the values themselves (sorted per bucket), not estimated.
//
// Functions over the caller's connection and transaction; thread-safe as the connection is.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "convstore/monitoring.h"
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::ops {

constexpr size_t kMaxMetricBatch = 100'000;

// A point checked and in stored form (labels compact with sorted keys, the time resolved).
struct StoredMetric {
  std::string type, name, unit, labels;
  double value = 0;
  int64_t at = 0;
};

// Label sets already checked in this batch (as given -> stored form): a batch repeats a few label sets, and each
// is parsed once.
using CheckedLabels = std::unordered_map<std::string, std::string>;

// Checks `point` (index names it in a batch's error; -1 for a single point) and fills `out`; `now` when no time.
Status CheckMetric(const MetricPoint& point, int64_t index, int64_t now, CheckedLabels& labels, StoredMetric* out);
Status CheckMetricQuery(const MetricQuery& query);

Status InsertMetrics(sqlite::Connection& conn, const std::vector<StoredMetric>& points);

Result<MetricSeries> QueryMetricSeries(sqlite::Connection& conn, const MetricQuery& query);

// Removes up to `max_rows` of the points measured before `before_at`, oldest first; the number removed.
Result<int64_t> PruneMetrics(sqlite::Connection& conn, int64_t before_at, int64_t max_rows);

}  // namespace convstore::ops
