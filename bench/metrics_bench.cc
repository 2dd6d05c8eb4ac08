// Metrics: the insert rate of RecordMetrics (batches of 1,000 points, one transaction each) next to raw SQLite
// inserts of the same rows into a table with the same indexes, in the same run; and a 30-day hourly query (count,
// sum, min, max, mean, p50/p95/p99 per hour) of one metric in a store of 10,000,000 points, next to a raw SQLite
// GROUP BY of the same hours computing count, sum, min and max only (SQLite has no percentile function: the floor
// of reading the same rows).
//
// The 10M-point store (10 metrics x 1M points over 30 days, 4 label sets) is built once under the bench data
// directory through RecordMetrics.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "bench_support.h"

namespace {

constexpr int64_t kT0 = 1'793'491'200'000'000;  // 2026-11-01T00:00:00Z
constexpr int64_t kThirtyDays = 30LL * 86'400'000'000;
constexpr int64_t kPoints = 10'000'000;
constexpr int kNames = 10;

const char* const kLabels[] = {R"({"model":"gpt-4o","region":"eu"})", R"({"model":"gpt-4o","region":"us"})",
                               R"({"model":"claude-sonnet-4-5","region":"eu"})",
                               R"({"model":"claude-sonnet-4-5","region":"us"})"};

convstore::MetricPoint Point(int64_t i) {
  const int name = static_cast<int>(i % kNames);
  return {.type = "latency", .name = "api.request_ms." + std::to_string(name),
          .value = 50.0 + static_cast<double>((i * 7919) % 1000) * 0.75, .unit = "ms",
          .labels_json = kLabels[(i / kNames) % 4], .at = kT0 + i * (kThirtyDays / kPoints)};
}

std::string BigStore() {
  static const std::string path = [] {
    const std::string p = bench::DataDir() + "/metrics-10m.db";
    bool ready = false;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      sqlite3* db = bench::OpenRaw(p);
      sqlite3_stmt* q = nullptr;
      sqlite3_prepare_v2(db, "SELECT count(*) FROM metrics", -1, &q, nullptr);
      ready = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) == kPoints;
      sqlite3_finalize(q);
      sqlite3_close(db);
    }
    if (!ready) {
      bench::RemoveDb(p);
      auto store = bench::Open(p);
      bench::Must(store->SetJournalEnabled(false), "journal off for the build");
      std::vector<convstore::MetricPoint> batch;
      for (int64_t i = 0; i < kPoints; ++i) {
        batch.push_back(Point(i));
        if (batch.size() == 100'000) {
          bench::Must(store->RecordMetrics(batch), "record");
          batch.clear();
        }
      }
      bench::Must(store->SetJournalEnabled(true), "journal on");
    }
    return p;
  }();
  return path;
}

void BM_RecordMetricsBatch1000(benchmark::State& state) {
  const std::string path = bench::ScratchPath("metrics-insert");
  auto store = bench::Open(path);
  int64_t i = 0;
  std::vector<convstore::MetricPoint> batch(1000);
  for (auto _ : state) {
    for (auto& p : batch) p = Point(i++);
    bench::Must(store->RecordMetrics(batch), "record");
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  store.reset();
  bench::RemoveDb(path);
}
BENCHMARK(BM_RecordMetricsBatch1000)->MinTime(3.0)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawMetricsBatch1000(benchmark::State& state) {
  const std::string path = bench::ScratchPath("metrics-raw");
  sqlite3* db = bench::OpenRaw(path);
  bench::Exec(db,
              "CREATE TABLE metrics (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, type TEXT NOT NULL, "
              "name TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, labels TEXT NOT NULL);"
              "CREATE INDEX metrics_at ON metrics(at); CREATE INDEX metrics_name_at ON metrics(name, at, value);");
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO metrics(at, type, name, value, unit, labels) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     -1, &ins, nullptr);
  int64_t i = 0;
  for (auto _ : state) {
    bench::Exec(db, "BEGIN IMMEDIATE");
    for (int k = 0; k < 1000; ++k) {
      const convstore::MetricPoint p = Point(i++);
      sqlite3_bind_int64(ins, 1, *p.at);
      sqlite3_bind_text(ins, 2, p.type.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 3, p.name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_double(ins, 4, p.value);
      sqlite3_bind_text(ins, 5, p.unit.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 6, p.labels_json.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    bench::Exec(db, "COMMIT");
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  bench::RemoveDb(path);
}
BENCHMARK(BM_RawMetricsBatch1000)->MinTime(3.0)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Query30DaysHourly(benchmark::State& state) {
  auto store = bench::Open(BigStore());
  int64_t points = 0;
  for (auto _ : state) {
    auto s = bench::Must(store->QueryMetrics({.name = "api.request_ms.3", .from = kT0, .to = kT0 + kThirtyDays,
                                              .bucket = convstore::MetricBucket::kHour}),
                         "query");
    if (s.buckets.size() != 720) throw std::runtime_error("expected 720 hourly buckets");
    points += s.points;
  }
  state.SetItemsProcessed(points);
}
BENCHMARK(BM_Query30DaysHourly)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawGroupBy30DaysHourly(benchmark::State& state) {
  sqlite3* db = bench::OpenRaw(BigStore());
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT at / 3600000000, count(*), sum(value), min(value), max(value) FROM metrics "
                     "WHERE name = ?1 AND at >= ?2 AND at < ?3 GROUP BY at / 3600000000",
                     -1, &q, nullptr);
  int64_t points = 0;
  for (auto _ : state) {
    sqlite3_bind_text(q, 1, "api.request_ms.3", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, kT0);
    sqlite3_bind_int64(q, 3, kT0 + kThirtyDays);
    while (sqlite3_step(q) == SQLITE_ROW) points += sqlite3_column_int64(q, 1);
    sqlite3_reset(q);
  }
  state.SetItemsProcessed(points);
  sqlite3_finalize(q);
  sqlite3_close(db);
}
BENCHMARK(BM_RawGroupBy30DaysHourly)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same query with a label filter (reads the rows, not only the index).
void BM_Query30DaysHourlyByLabel(benchmark::State& state) {
  auto store = bench::Open(BigStore());
  int64_t points = 0;
  for (auto _ : state) {
    auto s = bench::Must(store->QueryMetrics({.name = "api.request_ms.3", .from = kT0, .to = kT0 + kThirtyDays,
                                              .labels_json = R"({"region":"eu"})",
                                              .bucket = convstore::MetricBucket::kHour}),
                         "query");
    points += s.points;
  }
  state.SetItemsProcessed(points);
}
BENCHMARK(BM_Query30DaysHourlyByLabel)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::RatioReporter reporter(
      {{"BM_RecordMetricsBatch1000", "BM_RawMetricsBatch1000", "record_metrics / raw inserts, points/s", true},
       {"BM_Query30DaysHourly", "BM_RawGroupBy30DaysHourly",
        "query (with percentiles) / raw GROUP BY (count, sum, min, max), points/s", true}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
