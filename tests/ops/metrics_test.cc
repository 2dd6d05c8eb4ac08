// Metrics: recording points (one, a batch all or nothing), querying one metric by time range, type and labels in
// minute, hour and day buckets with exact statistics computed independently here, retention's range delete, and
// bad input refused with nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "convstore/convstore.hpp"
#include "ops/metrics.h"
#include "sqlite/connection.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

constexpr int64_t kT0 = 1'796'000'000'000'000;  // 2026-11-29T..Z
constexpr int64_t kHour = 3'600'000'000;

double Interpolated(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

TEST(Metrics, HourlyBucketsEqualAStatisticsComputedHere) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> latency(5.0, 900.0);
  std::vector<MetricPoint> batch;
  std::map<int64_t, std::vector<double>> expected;  // hour -> values with region=eu
  for (int i = 0; i < 5000; ++i) {
    const int64_t at = kT0 + static_cast<int64_t>(rng() % (6 * kHour));
    const bool eu = i % 3 != 0;
    const double v = latency(rng);
    batch.push_back({.type = "latency", .name = "api.request_ms", .value = v, .unit = "ms",
                     .labels_json = eu ? R"({"region":"eu","model":"m1"})" : R"({"region":"us","model":"m1"})",
                     .at = at});
    if (eu) expected[(at / kHour) * kHour].push_back(v);
  }
  batch.push_back({.type = "tokens", .name = "api.request_ms", .value = 1e9, .labels_json = R"({"region":"eu"})",
                   .at = kT0});  // another type under the same name
  batch.push_back({.type = "latency", .name = "other", .value = 1e9, .at = kT0});
  auto n = store->RecordMetrics(batch);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 5002);

  auto series = store->QueryMetrics({.name = "api.request_ms", .type = "latency", .from = kT0, .to = kT0 + 6 * kHour,
                                     .labels_json = R"({"region":"eu"})", .bucket = MetricBucket::kHour});
  ASSERT_OK(series);
  EXPECT_EQ(series->unit, "ms");
  ASSERT_EQ(series->buckets.size(), expected.size());
  size_t k = 0;
  int64_t total = 0;
  for (const auto& [hour, values] : expected) {
    const MetricStats& b = series->buckets[k++];
    EXPECT_EQ(b.start, hour);
    EXPECT_EQ(b.count, static_cast<int64_t>(values.size()));
    double sum = 0;
    for (double v : values) sum += v;
    EXPECT_NEAR(b.sum, sum, 1e-6);
    EXPECT_DOUBLE_EQ(b.min, *std::min_element(values.begin(), values.end()));
    EXPECT_DOUBLE_EQ(b.max, *std::max_element(values.begin(), values.end()));
    EXPECT_NEAR(b.avg, sum / static_cast<double>(values.size()), 1e-9);
    EXPECT_DOUBLE_EQ(b.p50, Interpolated(values, 0.50));
    EXPECT_DOUBLE_EQ(b.p95, Interpolated(values, 0.95));
    EXPECT_DOUBLE_EQ(b.p99, Interpolated(values, 0.99));
    total += b.count;
  }
  EXPECT_EQ(series->points, total);

  // Without filters (the index alone): every point of the name, both types, one bucket for the range.
  auto all = store->QueryMetrics({.name = "api.request_ms", .from = kT0, .to = kT0 + 6 * kHour});
  ASSERT_OK(all);
  ASSERT_EQ(all->buckets.size(), 1u);
  EXPECT_EQ(all->buckets[0].count, 5001);
  EXPECT_EQ(all->buckets[0].start, kT0);
  EXPECT_DOUBLE_EQ(all->buckets[0].max, 1e9);
  // Minute and day buckets partition the same points.
  for (MetricBucket b : {MetricBucket::kMinute, MetricBucket::kDay}) {
    auto s = store->QueryMetrics({.name = "api.request_ms", .from = kT0, .to = kT0 + 6 * kHour, .bucket = b});
    ASSERT_OK(s);
    int64_t count = 0;
    for (const auto& bucket : s->buckets) count += bucket.count;
    EXPECT_EQ(count, 5001);
  }
  // An unknown name, an empty range, a label no point has: empty series.
  EXPECT_EQ(store->QueryMetrics({.name = "nothing", .from = kT0, .to = kT0 + kHour})->points, 0);
  EXPECT_EQ(store->QueryMetrics({.name = "api.request_ms", .from = kT0 - kHour, .to = kT0})->points, 0);
  EXPECT_EQ(store->QueryMetrics({.name = "api.request_ms", .from = kT0, .to = kT0 + 6 * kHour,
                                 .labels_json = R"({"region":"mars"})"})->points, 0);
}

TEST(Metrics, SinglePointsAndTheDefaultTime) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->RecordMetric({.type = "gauge", .name = "queue.depth", .value = 3}));
  ASSERT_OK(store->RecordMetric({.type = "gauge", .name = "queue.depth", .value = -1.5, .labels_json = "{}"}));
  auto now = QueryInt(db.path(), "SELECT max(at) FROM metrics");
  auto s = store->QueryMetrics({.name = "queue.depth", .from = now - kHour, .to = now + 1});
  ASSERT_OK(s);
  ASSERT_EQ(s->points, 2);
  EXPECT_DOUBLE_EQ(s->buckets[0].sum, 1.5);
  EXPECT_DOUBLE_EQ(s->buckets[0].p50, 0.75);
}

TEST(Metrics, BadInputIsRefusedAndWritesNothing) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  const MetricPoint good{.type = "t", .name = "n", .value = 1, .at = kT0};
  for (MetricPoint bad : std::vector<MetricPoint>{
           {.name = "n"}, {.type = "t"}, {.type = "has space", .name = "n"}, {.type = "t", .name = "n", .value = NAN},
           {.type = "t", .name = "n", .value = INFINITY}, {.type = "t", .name = "n", .unit = std::string(33, 'u')},
           {.type = "t", .name = "n", .labels_json = "[1]"}, {.type = "t", .name = "n", .labels_json = R"({"a":{"b":1}})"},
           {.type = "t", .name = "n", .labels_json = R"({"a":null})"}, {.type = "t", .name = "n", .at = 5},
           {.type = "t", .name = std::string(129, 'n')}}) {
    Status s = store->RecordMetric(bad);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(s.code() == Code::kInvalidArgument || s.code() == Code::kTooLarge) << s.ToString();
    // In a batch the bad point is named and the good ones are not written either.
    auto r = store->RecordMetrics({good, bad});
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("point 1"), std::string::npos) << r.status().ToString();
  }
  std::string many = "{";
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":1";
  EXPECT_CODE(store->RecordMetric({.type = "t", .name = "n", .labels_json = many + "}"}), Code::kTooLarge);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM metrics"), 0);
  EXPECT_CODE(store->QueryMetrics({.name = "", .from = kT0, .to = kT0 + 1}), Code::kInvalidArgument);
  EXPECT_CODE(store->QueryMetrics({.name = "n", .from = kT0, .to = kT0}), Code::kInvalidArgument);
  EXPECT_CODE(store->QueryMetrics({.name = "n", .from = kT0, .to = kT0 + 3661 * 24 * kHour}), Code::kInvalidArgument);
  EXPECT_CODE(store->QueryMetrics({.name = "n", .from = kT0, .to = kT0 + 1, .bucket = static_cast<MetricBucket>(9)}),
              Code::kInvalidArgument);
  EXPECT_CODE(store->QueryMetrics({.name = "n", .from = kT0, .to = kT0 + 1, .labels_json = "{"}),
              Code::kInvalidArgument);
  EXPECT_CODE(store->RecordMetrics(std::vector<MetricPoint>(100'001, good)), Code::kTooLarge);
}

TEST(Metrics, RetentionRemovesTheOldestRange) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    std::vector<MetricPoint> batch;
    for (int h = 0; h < 48; ++h)
      batch.push_back({.type = "t", .name = "n", .value = static_cast<double>(h), .at = kT0 + h * kHour});
    ASSERT_OK(store->RecordMetrics(batch));
  }
  auto conn = sqlite::Connection::Open(db.path(), {});
  ASSERT_OK(conn);
  auto removed = ops::PruneMetrics(**conn, kT0 + 24 * kHour, 10);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 10);
  removed = ops::PruneMetrics(**conn, kT0 + 24 * kHour, 100);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 14);
  EXPECT_EQ(QueryInt(db.path(), "SELECT min(at) FROM metrics"), kT0 + 24 * kHour);
}

}  // namespace
}  // namespace convstore
