#include "monitoring_codec.h"

#include <fmt/format.h>

#include "json_fields.h"

namespace convstore::capi {
namespace {

Status ReadPoint(Fields& f, MetricPoint& p) {
  CONVSTORE_RETURN_IF_ERROR(f.Str("type", p.type));
  CONVSTORE_RETURN_IF_ERROR(f.Str("name", p.name));
  std::optional<double> value;
  CONVSTORE_RETURN_IF_ERROR(f.Double("value", value));
  if (!value) return Status::InvalidArgument("a metric point needs a numeric \"value\"");
  p.value = *value;
  CONVSTORE_RETURN_IF_ERROR(f.Str("unit", p.unit));
  CONVSTORE_RETURN_IF_ERROR(f.Doc("labels", p.labels_json, true));
  return f.Time("at", p.at);
}

}  // namespace

Result<MetricPoint> DecodeMetricPoint(std::string_view text) {
  return DecodeObject<MetricPoint>(text, "metric point", ReadPoint);
}

Result<std::vector<MetricPoint>> DecodeMetricPoints(std::string_view text) {
  auto parsed = util::ParseJson(text, "metric points", limits::kMaxRequestBytes, kMaxRequestDepth);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return Status::InvalidArgument("metric points must be a JSON array of point objects");
  std::vector<MetricPoint> out(parsed->size());
  for (size_t i = 0; i < parsed->size(); ++i) {
    const std::string prefix = fmt::format("points[{}].", i);
    if (!(*parsed)[i].is_object()) return Status::InvalidArgument(fmt::format("points[{}] must be a JSON object", i));
    Fields f((*parsed)[i], prefix);
    CONVSTORE_RETURN_IF_ERROR(ReadPoint(f, out[i]));
    CONVSTORE_RETURN_IF_ERROR(f.Finish());
  }
  return out;
}

Result<MetricQuery> DecodeMetricQuery(std::string_view text) {
  return DecodeObject<MetricQuery>(text, "metric query", [](Fields& f, MetricQuery& q) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("name", q.name));
    CONVSTORE_RETURN_IF_ERROR(f.Str("type", q.type));
    std::optional<Micros> from, to;
    CONVSTORE_RETURN_IF_ERROR(f.Time("from", from));
    CONVSTORE_RETURN_IF_ERROR(f.Time("to", to));
    if (!from || !to) return Status::InvalidArgument("a metric query needs \"from\" and \"to\"");
    q.from = *from;
    q.to = *to;
    CONVSTORE_RETURN_IF_ERROR(f.Doc("labels", q.labels_json, true));
    std::string bucket;
    CONVSTORE_RETURN_IF_ERROR(f.Str("bucket", bucket));
    if (bucket.empty() || bucket == "none") q.bucket = MetricBucket::kNone;
    else if (bucket == "minute") q.bucket = MetricBucket::kMinute;
    else if (bucket == "hour") q.bucket = MetricBucket::kHour;
    else if (bucket == "day") q.bucket = MetricBucket::kDay;
    else return Status::InvalidArgument("bucket must be \"none\", \"minute\", \"hour\" or \"day\"");
    return Status::OK();
  });
}

std::string EncodeMetricSeries(const MetricSeries& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(s.name);
  w.Key("unit").String(s.unit);
  w.Key("points").Int(s.points);
  w.Key("buckets").BeginArray();
  for (const MetricStats& b : s.buckets) {
    w.BeginObject();
    WriteTime(w, "start", b.start);
    w.Key("count").Int(b.count);
    w.Key("sum").Double(b.sum);
    w.Key("min").Double(b.min);
    w.Key("max").Double(b.max);
    w.Key("avg").Double(b.avg);
    w.Key("p50").Double(b.p50);
    w.Key("p95").Double(b.p95);
    w.Key("p99").Double(b.p99);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

Result<StatsOptions> DecodeStatsOptions(std::string_view text) {
  return DecodeObject<StatsOptions>(text, "stats options", [](Fields& f, StatsOptions& o) -> Status {
    std::optional<bool> saved;
    CONVSTORE_RETURN_IF_ERROR(f.Bool("saved", saved));
    o.saved = saved.value_or(true);
    return Status::OK();
  });
}

std::string EncodeStoreStats(const StoreStats& s) {
  JsonWriter w;
  w.BeginObject();
  WriteTime(w, "since", s.since);
  w.Key("operations").BeginArray();
  for (const OperationStats& o : s.operations) {
    w.BeginObject();
    w.Key("name").String(o.name);
    w.Key("calls").Int(o.calls);
    w.Key("errors").Int(o.errors);
    w.Key("rows").Int(o.rows);
    w.Key("total_us").Double(o.total_us);
    w.Key("mean_us").Double(o.mean_us);
    w.Key("min_us").Double(o.min_us);
    w.Key("max_us").Double(o.max_us);
    w.Key("stddev_us").Double(o.stddev_us);
    w.EndObject();
  }
  w.EndArray();
  w.Key("cache_hits").Int(s.cache_hits);
  w.Key("cache_misses").Int(s.cache_misses);
  w.Key("cache_writes").Int(s.cache_writes);
  w.Key("wal_bytes").Int(s.wal_bytes);
  w.Key("checkpoints").Int(s.checkpoints);
  w.EndObject();
  return w.Take();
}

namespace {

// The thresholds by their JSON names (the C++ fields' names).
struct IntThreshold {
  const char* name;
  int64_t HealthThresholds::*field;
};
constexpr IntThreshold kIntThresholds[] = {
    {"wal_warn_bytes", &HealthThresholds::wal_warn_bytes},
    {"wal_fail_bytes", &HealthThresholds::wal_fail_bytes},
    {"journal_lag_warn_entries", &HealthThresholds::journal_lag_warn_entries},
    {"journal_lag_fail_entries", &HealthThresholds::journal_lag_fail_entries},
    {"archive_lag_warn_us", &HealthThresholds::archive_lag_warn_us},
    {"archive_lag_fail_us", &HealthThresholds::archive_lag_fail_us},
    {"sync_lag_warn_us", &HealthThresholds::sync_lag_warn_us},
    {"sync_lag_fail_us", &HealthThresholds::sync_lag_fail_us},
    {"disk_free_warn_bytes", &HealthThresholds::disk_free_warn_bytes},
    {"disk_free_fail_bytes", &HealthThresholds::disk_free_fail_bytes},
};
struct FractionThreshold {
  const char* name;
  double HealthThresholds::*field;
};
constexpr FractionThreshold kFractionThresholds[] = {
    {"free_pages_warn_fraction", &HealthThresholds::free_pages_warn_fraction},
    {"budget_warn_fraction", &HealthThresholds::budget_warn_fraction},
};

}  // namespace

Result<HealthOptions> DecodeHealthOptions(std::string_view text) {
  return DecodeObject<HealthOptions>(text, "health options", [](Fields& f, HealthOptions& o) -> Status {
    std::optional<bool> quick_check;
    CONVSTORE_RETURN_IF_ERROR(f.Bool("quick_check", quick_check));
    o.quick_check = quick_check.value_or(true);
    for (const IntThreshold& t : kIntThresholds) {
      std::optional<int64_t> v;
      CONVSTORE_RETURN_IF_ERROR(f.Int(t.name, v));
      if (v) o.thresholds.*t.field = *v;
    }
    for (const FractionThreshold& t : kFractionThresholds) {
      std::optional<double> v;
      CONVSTORE_RETURN_IF_ERROR(f.Double(t.name, v));
      if (v) o.thresholds.*t.field = *v;
    }
    return Status::OK();
  });
}

std::string EncodeHealthReport(const HealthReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("level").String(HealthLevelName(r.level));
  WriteTime(w, "checked_at", r.checked_at);
  w.Key("checks").BeginArray();
  for (const HealthCheck& c : r.checks) {
    w.BeginObject();
    w.Key("name").String(c.name);
    w.Key("level").String(HealthLevelName(c.level));
    w.Key("message").String(c.message);
    w.Key("value").Double(c.value);
    w.Key("unit").String(c.unit);
    w.Key("warn_at");
    if (c.warn_at) w.Double(*c.warn_at);
    else w.Null();
    w.Key("fail_at");
    if (c.fail_at) w.Double(*c.fail_at);
    else w.Null();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace convstore::capi
