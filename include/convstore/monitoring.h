// convstore/monitoring.h: the store's metrics time series — the seed schema's `metrics` table (type, name, value,
// unit, labels, time) — recorded one at a time or in batches and queried by time range and labels in minute, hour or
// day buckets with count, sum, min, max, mean and exact percentiles; and the store's statistics, like PostgreSQL's
// pg_stat_statements: per public operation, calls, errors, rows and time, with SQLite's page-cache use, the WAL's
// size and the checkpoints run; and the store's health: named checks, each ok, warn or fail with the number behind
// it, against thresholds the caller may change. docs/monitoring.md.
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

// One public operation's counters ("add_message", "get_conversation": the C++ method's name in snake_case, mostly
// also the C function's and the Python method's; the in-process archive, sync and retention schedules' runs count as
// "archive_round", "sync_round" and "apply_retention"). Times are wall-clock durations of whole calls, in µs.
struct OperationStats {
  std::string name{};
  int64_t calls = 0;
  int64_t errors = 0;   // calls that returned an error (counted in calls, and in the times)
  int64_t rows = 0;     // records returned or written by successful calls (a list's length, a count returned, 1 for a
                        // record, 0 for a call that returns only a status)
  double total_us = 0, mean_us = 0, min_us = 0, max_us = 0;
  double stddev_us = 0;  // population standard deviation
};

struct StatsOptions {
  // Include what handles closed earlier saved in the file (a read-write handle on a file adds its counters to the
  // file when it closes, as PostgreSQL saves pg_stat_statements at shutdown). false: this handle's counters only.
  bool saved = true;
};

struct StoreStats {
  Micros since = 0;  // when counting began: the last ResetStats, else the opening of the first handle that saved,
                     // else this handle's opening
  std::vector<OperationStats> operations{};  // those called at least once, by total time, largest first
  // SQLite's page cache (sqlite3_db_status): pages found in the cache, read from the file, and written to it.
  int64_t cache_hits = 0, cache_misses = 0, cache_writes = 0;
  int64_t wal_bytes = 0;          // the WAL file's size now (0 for an in-memory store)
  // WAL checkpoints run: the background checkpointer's (each pass of a cycle, asked for by a commit that leaves
  // 4,000 frames or more in the WAL, again while a reader pins the WAL), the committing thread's (from 16,000
  // frames with the background checkpointer, else — without it — from 4,000), and optimize's,
  // an erasure's and retention's.
  int64_t checkpoints = 0;
};

// ---- health ----

enum class HealthLevel { kOk = 0, kWarn = 1, kFail = 2 };

// Where a check turns to warn or fail. A check whose number is at or past its warn threshold warns; at or past its
// fail threshold, fails (for disk_free: at or below). Every threshold is >= 0 and a warn threshold never lies past its
// fail threshold; kInvalidArgument otherwise.
struct HealthThresholds {
  int64_t wal_warn_bytes = int64_t{64} << 20;   // the WAL's size (a reader in another process can pin it)
  int64_t wal_fail_bytes = int64_t{1} << 30;
  // Free pages as a fraction of the file's pages (Optimize gives them back); files under 1 MiB never warn. Free
  // pages never fail a store.
  double free_pages_warn_fraction = 0.25;
  // Journal entries the slowest consumer has not read yet (retention keeps them for it).
  int64_t journal_lag_warn_entries = 100'000;
  int64_t journal_lag_fail_entries = 10'000'000;
  // Age of the oldest journal entry an archive (archive_lag) or a PostgreSQL sync (sync_lag) has not taken yet, µs.
  int64_t archive_lag_warn_us = 300'000'000;     // 5 minutes
  int64_t archive_lag_fail_us = 3'600'000'000;   // 1 hour
  int64_t sync_lag_warn_us = 300'000'000;
  int64_t sync_lag_fail_us = 3'600'000'000;
  // Space left on the file system holding the store (for a non-root user).
  int64_t disk_free_warn_bytes = int64_t{1} << 30;
  int64_t disk_free_fail_bytes = int64_t{100} << 20;
  // A budget warns when (spent + reserved) reaches this fraction (0..1) of its limit, or passes its soft limit; it
  // fails when it reaches its hard limit.
  double budget_warn_fraction = 0.8;
};

struct HealthOptions {
  HealthThresholds thresholds{};
  // Run SQLite's quick_check (reads every page of the file: about a second per GiB here). false: the check is
  // reported ok with the message "skipped".
  bool quick_check = true;
};

// One check. Names, in the order reported: quick_check (problems found), wal_size (bytes), free_pages (fraction of
// the file), journal_lag (entries), archive_lag and sync_lag (µs), disk_free (bytes), budgets (the largest used
// fraction), erasures (erasures not yet finished: the WAL or an archive still holds erased data).
struct HealthCheck {
  std::string name{};
  HealthLevel level = HealthLevel::kOk;
  std::string message{};       // the finding in words, naming what is behind it ("budget 'netops-monthly' ...")
  double value = 0;            // the number checked, in `unit`
  std::string unit{};          // "problems", "bytes", "fraction", "entries", "us", "erasures"
  std::optional<double> warn_at{}, fail_at{};  // the thresholds applied (none for a check without them)
};

struct HealthReport {
  HealthLevel level = HealthLevel::kOk;  // the worst of the checks
  Micros checked_at = 0;
  std::vector<HealthCheck> checks{};
};

// "ok", "warn" or "fail".
CONVSTORE_EXPORT const char* HealthLevelName(HealthLevel level);

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

  // The store's statistics. Counting costs every call two clock reads and a few relaxed atomic additions; the
  // counters are this handle's, in memory, plus (options.saved) those saved in the file. Counters of handles still
  // open elsewhere, and of a process that was killed, are not in the file.
  Result<StoreStats> Stats(const StatsOptions& options = {});
  // Zeroes this handle's counters and deletes the saved ones (a write: a read-only store zeroes its own only).
  // Other handles open meanwhile keep theirs and add them when they close. A call that finishes while the reset runs
  // may be counted in part.
  Status ResetStats();
  // Turns this handle's counting of operations on (the default) or off, at once; what was counted stays. The page
  // cache, WAL and checkpoint counters are SQLite's and always kept.
  Status SetStatsEnabled(bool enabled);

  // The store's health, for monitoring: every check above, each from its own read snapshot (writers go on). Works on
  // a read-only store. An in-memory store reports its WAL, free pages and disk as ok ("in memory").
  // kInvalidArgument for bad thresholds.
  Result<HealthReport> CheckHealth(const HealthOptions& options = {});

 protected:
  Monitoring() = default;
  ~Monitoring() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_MONITORING_H_
