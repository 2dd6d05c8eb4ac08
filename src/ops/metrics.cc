#include "ops/metrics.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/json_input.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::ops {

namespace {

constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxUnitBytes = 32;
constexpr size_t kMaxLabelsBytes = 4096;
constexpr size_t kMaxLabels = 32;
constexpr int64_t kMaxQueryDays = 3660;
constexpr int64_t kDayUs = 86'400'000'000;

Status CheckName(std::string_view value, std::string_view what) {
  return util::CheckName(value, what, kMaxNameBytes, /*required=*/true);
}

// A flat JSON object of scalars, in stored form.
Result<std::string> CheckLabels(std::string_view text, std::string_view what) {
  auto normalized = util::NormalizeJson(text, what, kMaxLabelsBytes, /*require_object=*/true);
  if (!normalized.ok()) return normalized.status();
  const nlohmann::json j = nlohmann::json::parse(*normalized, nullptr, false);
  if (j.size() > kMaxLabels) return Status::TooLarge(fmt::format("{} has more than {} labels", what, kMaxLabels));
  for (const auto& [key, value] : j.items())
    if (value.is_object() || value.is_array() || value.is_null())
      return Status::InvalidArgument(
          fmt::format("{}: label '{}' must be a string, a number or a boolean", what, key));
  return normalized;
}

// A batch's error names its point; the prefix is built only for an error.
Status AtPoint(Status s, int64_t index) {
  if (s.ok() || index < 0) return s;
  return Status(s.code(), fmt::format("point {}: {}", index, s.message()));
}

int64_t BucketUs(MetricBucket b) {
  switch (b) {
    case MetricBucket::kMinute: return 60'000'000;
    case MetricBucket::kHour: return 3'600'000'000;
    case MetricBucket::kDay: return kDayUs;
    default: return 0;
  }
}

int64_t FloorTo(int64_t at, int64_t width) {
  int64_t q = at / width;
  if (at % width < 0) --q;
  return q * width;
}

double Percentile(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

MetricStats Summarize(int64_t start, std::vector<double>& values) {
  MetricStats s;
  s.start = start;
  s.count = static_cast<int64_t>(values.size());
  std::sort(values.begin(), values.end());
  long double sum = 0;
  for (double v : values) sum += v;
  s.sum = static_cast<double>(sum);
  s.min = values.front();
  s.max = values.back();
  s.avg = static_cast<double>(sum / static_cast<long double>(values.size()));
  s.p50 = Percentile(values, 0.50);
  s.p95 = Percentile(values, 0.95);
  s.p99 = Percentile(values, 0.99);
  return s;
}

// Whether `labels` (stored form) holds every member of `wanted`.
bool Holds(const std::string& labels, const nlohmann::json& wanted) {
  const nlohmann::json j = nlohmann::json::parse(labels, nullptr, false);
  if (!j.is_object()) return false;
  for (const auto& [key, value] : wanted.items()) {
    auto it = j.find(key);
    if (it == j.end() || *it != value) return false;
  }
  return true;
}

}  // namespace

namespace {

Status CheckPoint(const MetricPoint& p, CheckedLabels& checked, const std::string** labels) {
  CONVSTORE_RETURN_IF_ERROR(CheckName(p.type, "type"));
  CONVSTORE_RETURN_IF_ERROR(CheckName(p.name, "name"));
  if (!std::isfinite(p.value)) return Status::InvalidArgument("value must be a finite number");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(p.unit, "unit", kMaxUnitBytes));
  if (p.unit.find('\0') != std::string::npos) return Status::InvalidArgument("unit holds a NUL byte");
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(p.at, "at"));
  auto known = checked.find(p.labels_json);
  if (known == checked.end()) {
    auto normalized = CheckLabels(p.labels_json, "labels");
    if (!normalized.ok()) return normalized.status();
    known = checked.emplace(p.labels_json, std::move(*normalized)).first;
  }
  *labels = &known->second;
  return Status::OK();
}

}  // namespace

Status CheckMetric(const MetricPoint& p, int64_t index, int64_t now, CheckedLabels& checked, StoredMetric* out) {
  const std::string* labels = nullptr;
  CONVSTORE_RETURN_IF_ERROR(AtPoint(CheckPoint(p, checked, &labels), index));
  out->type = p.type;
  out->name = p.name;
  out->unit = p.unit;
  out->labels = *labels;
  out->value = p.value;
  out->at = p.at.value_or(now);
  return Status::OK();
}

Status CheckMetricQuery(const MetricQuery& q) {
  CONVSTORE_RETURN_IF_ERROR(CheckName(q.name, "name"));
  if (!q.type.empty()) CONVSTORE_RETURN_IF_ERROR(CheckName(q.type, "type"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(q.from, "from"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(q.to, "to"));
  if (q.from >= q.to) return Status::InvalidArgument("from must be before to");
  if (q.to - q.from > kMaxQueryDays * kDayUs)
    return Status::InvalidArgument(fmt::format("a metrics query spans at most {} days", kMaxQueryDays));
  const int b = static_cast<int>(q.bucket);
  if (b < 0 || b > 3) return Status::InvalidArgument("bucket must be none, minute, hour or day");
  if (!q.labels_json.empty()) {
    auto labels = CheckLabels(q.labels_json, "labels");
    if (!labels.ok()) return labels.status();
  }
  return Status::OK();
}

Status InsertMetrics(sqlite::Connection& conn, const std::vector<StoredMetric>& points) {
  auto st = conn.Prepare("INSERT INTO metrics(at, type, name, value, unit, labels) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return st.status();
  for (const StoredMetric& p : points) {
    st->Bind(1, p.at).Bind(2, p.type).Bind(3, p.name).Bind(4, p.value).Bind(5, p.unit).Bind(6, p.labels);
    CONVSTORE_RETURN_IF_ERROR(st->Run("record a metric"));
  }
  return Status::OK();
}

Result<MetricSeries> QueryMetricSeries(sqlite::Connection& conn, const MetricQuery& q) {
  MetricSeries series;
  series.name = q.name;
  nlohmann::json wanted = nlohmann::json::object();
  if (!q.labels_json.empty()) wanted = nlohmann::json::parse(q.labels_json, nullptr, false);
  const bool filtered = !q.type.empty() || (wanted.is_object() && !wanted.empty());
  const int64_t width = BucketUs(q.bucket);
  std::vector<double> values;
  int64_t current = INT64_MIN;
  std::unordered_map<std::string, bool> label_matches;  // a series has few distinct label sets
  auto flush = [&] {
    if (!values.empty()) series.buckets.push_back(Summarize(current, values));
    values.clear();
  };
  auto visit = [&](int64_t at, double value) {
    const int64_t start = width == 0 ? q.from : FloorTo(at, width);
    if (start != current) {
      flush();
      current = start;
    }
    values.push_back(value);
    ++series.points;
  };
  Result<bool> walked = false;
  if (!filtered) {
    // The covering index alone: (name, at, value).
    walked = conn.ForEachRow(
        "SELECT at, value FROM metrics WHERE name = ?1 AND at >= ?2 AND at < ?3 ORDER BY at", "query metrics",
        [&](const sqlite::Stmt& st) {
          visit(st.Int(0), st.Double(1));
          return true;
        },
        std::string_view(q.name), q.from, q.to);
  } else {
    walked = conn.ForEachRow(
        "SELECT m.at, m.value, m.type, m.labels FROM metrics m INDEXED BY metrics_name_at "
        "WHERE m.name = ?1 AND m.at >= ?2 AND m.at < ?3 ORDER BY m.at",
        "query metrics",
        [&](const sqlite::Stmt& st) {
          if (!q.type.empty() && st.Text(2) != q.type) return true;
          if (!wanted.empty()) {
            std::string labels = st.String(3);
            auto known = label_matches.find(labels);
            const bool match = known != label_matches.end() ? known->second
                                                            : label_matches.emplace(labels, Holds(labels, wanted))
                                                                  .first->second;
            if (!match) return true;
          }
          visit(st.Int(0), st.Double(1));
          return true;
        },
        std::string_view(q.name), q.from, q.to);
  }
  if (!walked.ok()) return walked.status();
  flush();
  if (series.points > 0) {
    auto unit = conn.QueryRow("SELECT unit FROM metrics WHERE name = ?1 AND at >= ?2 AND at < ?3 ORDER BY at DESC LIMIT 1",
                              "query metrics: unit", [](const sqlite::Stmt& st) { return st.String(0); },
                              std::string_view(q.name), q.from, q.to);
    if (!unit.ok()) return unit.status();
    series.unit = unit->value_or("");
  }
  return series;
}

Result<int64_t> PruneMetrics(sqlite::Connection& conn, int64_t before_at, int64_t max_rows) {
  CONVSTORE_RETURN_IF_ERROR(conn.Run(
      "DELETE FROM metrics WHERE id IN (SELECT id FROM metrics WHERE at < ?1 ORDER BY at LIMIT ?2)",
      "remove old metrics", before_at, max_rows));
  return conn.changes();
}

}  // namespace convstore::ops
