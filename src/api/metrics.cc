// The metrics time series' entry points (convstore/monitoring.h).
#include <fmt/format.h>

#include "api/store_impl.h"
#include "ops/metrics.h"

namespace convstore::api {

Status StoreImpl::DoRecordMetric(const MetricPoint& point) {
  ops::StoredMetric stored;
  ops::CheckedLabels labels;
  CONVSTORE_RETURN_IF_ERROR(ops::CheckMetric(point, -1, Now(), labels, &stored));
  return Write("record_metric", [&](sqlite::Connection& conn) { return ops::InsertMetrics(conn, {stored}); });
}

Result<int64_t> StoreImpl::DoRecordMetrics(const std::vector<MetricPoint>& points) {
  if (points.size() > ops::kMaxMetricBatch)
    return Status::TooLarge(fmt::format("{} points in one batch; the limit is {}", points.size(), ops::kMaxMetricBatch));
  std::vector<ops::StoredMetric> stored(points.size());
  const int64_t now = Now();
  ops::CheckedLabels labels;
  for (size_t i = 0; i < points.size(); ++i)
    CONVSTORE_RETURN_IF_ERROR(ops::CheckMetric(points[i], static_cast<int64_t>(i), now, labels, &stored[i]));
  if (stored.empty()) return int64_t{0};
  return Write("record_metrics", [&](sqlite::Connection& conn) -> Result<int64_t> {
    CONVSTORE_RETURN_IF_ERROR(ops::InsertMetrics(conn, stored));
    return static_cast<int64_t>(stored.size());
  });
}

Result<MetricSeries> StoreImpl::DoQueryMetrics(const MetricQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(ops::CheckMetricQuery(query));
  return Read("query_metrics", [&](sqlite::Connection& conn) -> Result<MetricSeries> {
    auto txn = sqlite::ReadTransaction::Begin(conn);  // the points and the unit from one snapshot
    if (!txn.ok()) return txn.status();
    return ops::QueryMetricSeries(conn, query);
  });
}

}  // namespace convstore::api
