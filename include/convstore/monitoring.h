// convstore/monitoring.h: the store's metrics time series — the seed schema's `metrics` table (type, name, value,
// unit, labels, time) — recorded one at a time or in batches and queried by time range and labels in minute, hour or
// day buckets with count, sum, min, max, mean and exact percentiles. docs/monitoring.md.
//
// Thread-safe as the store is.
#ifndef CONVSTORE_MONITORING_H_
#define CONVSTORE_MONITORING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convstore/export.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

struct MetricPoint {
  std::string type{};          // required: 1-128 bytes of letters, digits and . _ : / - ("latency", "tokens")
  std::string name{};          // required, the same characters ("api.request_ms")
  double value = 0;            // finite
  std::string unit{};          // 0-32 bytes of text ("ms", "tokens", "")
  std::string labels_json{};   // a flat JSON object of strings, numbers and booleans ("" = {}); at most 32 keys, 4 KiB
  std::optional<Micros> at{};  // when it was measured (default: now)
};

enum class MetricBucket { kNone = 0, kMinute = 1, kHour = 2, kDay = 3 };

struct MetricQuery {
  std::string name{};          // required
  std::string type{};          // "" any
  Micros from = 0;             // [from, to): required, at most 3,660 days apart
  Micros to = 0;
  std::string labels_json{};   // the points whose labels hold every member given ("" = all)
  MetricBucket bucket = MetricBucket::kNone;  // kNone: one bucket for the whole range
};

// One bucket's statistics. Percentiles are exact, interpolated linearly between the two nearest ranks (numpy's
// default): p = v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)]) with h = (count - 1) * q.
struct MetricStats {
  Micros start = 0;            // the bucket's start (UTC minute, hour or day; `from` for kNone)
  int64_t count = 0;
  double sum = 0, min = 0, max = 0, avg = 0;
  double p50 = 0, p95 = 0, p99 = 0;
};

struct MetricSeries {
  std::string name{};
  std::string unit{};          // of the newest point in the range
  std::vector<MetricStats> buckets{};  // in time order; only buckets holding points
  int64_t points = 0;          // points matched
};

// The metrics capability of a ConversationStore (a base of it: call these on the store). Non-virtual and without
// data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT Monitoring {
 public:
  // One point (its own transaction). kInvalidArgument for bad input; nothing is written then.
  Status RecordMetric(const MetricPoint& point);
  // Up to 100,000 points in one transaction: all or nothing (the first bad point is named).
  Result<int64_t> RecordMetrics(const std::vector<MetricPoint>& points);
  // Statistics of one metric over a time range, in buckets. An unknown name is an empty series.
  Result<MetricSeries> QueryMetrics(const MetricQuery& query);

 protected:
  Monitoring() = default;
  ~Monitoring() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_MONITORING_H_
