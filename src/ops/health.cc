#include "ops/health.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "util/status_macros.h"

namespace convstore::ops {

namespace {

constexpr int64_t kFreePagesMinFileBytes = int64_t{1} << 20;

std::string Bytes(double b) {
  if (b >= double(int64_t{1} << 30)) return fmt::format("{:.1f} GiB", b / double(int64_t{1} << 30));
  if (b >= double(1 << 20)) return fmt::format("{:.1f} MiB", b / double(1 << 20));
  if (b >= 1024) return fmt::format("{:.1f} KiB", b / 1024);
  return fmt::format("{:.0f} bytes", b);
}

std::string Duration(double us) {
  const double s = us / 1e6;
  if (s < 1) return fmt::format("{:.0f} ms", us / 1e3);
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

// Level of `value` against thresholds where larger is worse.
HealthLevel Above(double value, double warn, double fail) {
  return value >= fail ? HealthLevel::kFail : value >= warn ? HealthLevel::kWarn : HealthLevel::kOk;
}

HealthCheck Make(const char* name, HealthLevel level, std::string message, double value, const char* unit,
                 std::optional<double> warn = std::nullopt, std::optional<double> fail = std::nullopt) {
  HealthCheck c;
  c.name = name;
  c.level = level;
  c.message = std::move(message);
  c.value = value;
  c.unit = unit;
  c.warn_at = warn;
  c.fail_at = fail;
  return c;
}

HealthCheck QuickCheck(const HealthFacts& f) {
  if (!f.quick_check_problems) return Make("quick_check", HealthLevel::kOk, "skipped", 0, "problems");
  const auto& p = *f.quick_check_problems;
  if (p.empty()) return Make("quick_check", HealthLevel::kOk, "ok", 0, "problems", std::nullopt, 1);
  return Make("quick_check", HealthLevel::kFail,
              fmt::format("SQLite's quick_check found damage: {}{}", p.front(), p.size() > 1 ? " (and more)" : ""),
              double(p.size()), "problems", std::nullopt, 1);
}

HealthCheck WalSize(const HealthFacts& f, const HealthThresholds& t) {
  const double warn = double(t.wal_warn_bytes), fail = double(t.wal_fail_bytes);
  if (f.in_memory) return Make("wal_size", HealthLevel::kOk, "in memory: no WAL", 0, "bytes", warn, fail);
  const HealthLevel level = Above(double(f.wal_bytes), warn, fail);
  std::string message = fmt::format("the WAL is {}", Bytes(double(f.wal_bytes)));
  if (level != HealthLevel::kOk)
    message += fmt::format(" ({} at {}): checkpoints cannot empty it while a reader (often in another process) keeps "
                           "an old snapshot open",
                           level == HealthLevel::kFail ? "fails" : "warns",
                           Bytes(level == HealthLevel::kFail ? fail : warn));
  return Make("wal_size", level, std::move(message), double(f.wal_bytes), "bytes", warn, fail);
}

HealthCheck FreePages(const HealthFacts& f, const HealthThresholds& t) {
  const double warn = t.free_pages_warn_fraction;
  if (f.in_memory) return Make("free_pages", HealthLevel::kOk, "in memory", 0, "fraction", warn);
  const double fraction = f.page_count > 0 ? double(f.free_pages) / double(f.page_count) : 0.0;
  const int64_t file_bytes = f.page_count * f.page_size;
  const bool small = file_bytes < kFreePagesMinFileBytes;
  const HealthLevel level = !small && fraction >= warn ? HealthLevel::kWarn : HealthLevel::kOk;
  std::string message = fmt::format("{} free pages ({}, {:.1f}% of the file)", f.free_pages,
                                    Bytes(double(f.free_pages * f.page_size)), 100 * fraction);
  if (level == HealthLevel::kWarn) message += ": `convstore optimize` gives them back";
  return Make("free_pages", level, std::move(message), fraction, "fraction", warn);
}

HealthCheck JournalLag(const HealthFacts& f, const HealthThresholds& t) {
  const double warn = double(t.journal_lag_warn_entries), fail = double(t.journal_lag_fail_entries);
  if (!f.has_journal) return Make("journal_lag", HealthLevel::kOk, "no change journal", 0, "entries", warn, fail);
  const ConsumerLag* slowest = nullptr;
  for (const ConsumerLag& c : f.consumers)
    if (slowest == nullptr || c.behind > slowest->behind) slowest = &c;
  if (slowest == nullptr) return Make("journal_lag", HealthLevel::kOk, "no consumers", 0, "entries", warn, fail);
  const HealthLevel level = Above(double(slowest->behind), warn, fail);
  std::string message = slowest->behind == 0
                            ? fmt::format("{} consumer{} up to date", f.consumers.size(),
                                          f.consumers.size() == 1 ? "" : "s")
                            : fmt::format("consumer '{}' is {} entries behind", slowest->name, slowest->behind);
  if (level != HealthLevel::kOk)
    message += ": the journal keeps them for it (remove a consumer that is gone with `convstore journal`)";
  return Make("journal_lag", level, std::move(message), double(slowest->behind), "entries", warn, fail);
}

HealthCheck TimeLag(const HealthFacts& f, ConsumerLag::Kind kind, const char* name, const char* what, int64_t warn_us,
                    int64_t fail_us) {
  const double warn = double(warn_us), fail = double(fail_us);
  const ConsumerLag* worst = nullptr;
  double worst_lag = 0;
  int count = 0;
  for (const ConsumerLag& c : f.consumers) {
    if (c.kind != kind) continue;
    ++count;
    const double lag = c.behind > 0 ? double(std::max<int64_t>(0, f.now - c.oldest_pending_at)) : 0.0;
    if (worst == nullptr || lag > worst_lag) {
      worst = &c;
      worst_lag = lag;
    }
  }
  if (worst == nullptr) return Make(name, HealthLevel::kOk, fmt::format("no {}", what), 0, "us", warn, fail);
  const HealthLevel level = Above(worst_lag, warn, fail);
  std::string message = worst->behind == 0
                            ? fmt::format("{} {}{} up to date", count, what, count == 1 ? "" : "s")
                            : fmt::format("{} '{}' is {} behind ({} entries not taken yet)", what, worst->name,
                                          Duration(worst_lag), worst->behind);
  return Make(name, level, std::move(message), worst_lag, "us", warn, fail);
}

HealthCheck DiskFree(const HealthFacts& f, const HealthThresholds& t) {
  const double warn = double(t.disk_free_warn_bytes), fail = double(t.disk_free_fail_bytes);
  if (f.in_memory) return Make("disk_free", HealthLevel::kOk, "in memory", 0, "bytes", warn, fail);
  if (!f.disk_free_bytes)
    return Make("disk_free", HealthLevel::kWarn, "could not read the file system's free space: " + f.disk_error, 0,
                "bytes", warn, fail);
  const double free = double(*f.disk_free_bytes);
  const HealthLevel level = free <= fail ? HealthLevel::kFail : free <= warn ? HealthLevel::kWarn : HealthLevel::kOk;
  std::string message = fmt::format("{} free", Bytes(free));
  if (f.disk_total_bytes && *f.disk_total_bytes > 0)
    message += fmt::format(" of {} ({:.1f}%)", Bytes(double(*f.disk_total_bytes)),
                           100 * free / double(*f.disk_total_bytes));
  if (level != HealthLevel::kOk) message += " on the store's file system";
  return Make("disk_free", level, std::move(message), free, "bytes", warn, fail);
}

HealthCheck Budgets(const HealthFacts& f, const HealthThresholds& t) {
  const double warn = t.budget_warn_fraction;
  double worst = 0;
  std::vector<std::string> over_hard, warned;
  for (const BudgetState& b : f.budgets) {
    const double used = b.used_fraction.value_or(0);
    worst = std::max(worst, used);
    const std::string what = fmt::format("'{}' {:.0f}%", b.budget.name, 100 * used);
    if (b.over_hard) over_hard.push_back(what);
    else if (b.over_soft || (b.used_fraction && used >= warn)) warned.push_back(what);
  }
  if (f.budgets.empty()) return Make("budgets", HealthLevel::kOk, "no budgets", 0, "fraction", warn, 1.0);
  if (!over_hard.empty())
    return Make("budgets", HealthLevel::kFail,
                fmt::format("at the hard limit: {}{}", fmt::join(over_hard, ", "),
                            warned.empty() ? "" : fmt::format("; near: {}", fmt::join(warned, ", "))),
                worst, "fraction", warn, 1.0);
  if (!warned.empty())
    return Make("budgets", HealthLevel::kWarn,
                fmt::format("near or over the soft limit: {}", fmt::join(warned, ", ")), worst, "fraction", warn,
                1.0);
  return Make("budgets", HealthLevel::kOk,
              fmt::format("{} budget{}, the fullest at {:.0f}%", f.budgets.size(), f.budgets.size() == 1 ? "" : "s",
                          100 * worst),
              worst, "fraction", warn, 1.0);
}

HealthCheck Erasures(const HealthFacts& f) {
  if (f.unfinished_erasures == 0) return Make("erasures", HealthLevel::kOk, "none pending", 0, "erasures", 1);
  return Make("erasures", HealthLevel::kWarn,
              fmt::format("{} erasure{} not finished: {}", f.unfinished_erasures,
                          f.unfinished_erasures == 1 ? "" : "s", f.first_erasure_pending),
              double(f.unfinished_erasures), "erasures", 1);
}

Status CheckNumber(const char* name, double v) {
  if (!std::isfinite(v) || v < 0)
    return Status::InvalidArgument(fmt::format("health threshold {} must be a number >= 0", name));
  return Status::OK();
}

}  // namespace

Status ValidateThresholds(const HealthThresholds& t) {
  struct Pair {
    const char* warn_name;
    int64_t warn;
    const char* fail_name;
    int64_t fail;
    bool lower_is_worse;  // disk_free: less is worse, so the warning comes at more
  };
  const Pair pairs[] = {
      {"wal_warn_bytes", t.wal_warn_bytes, "wal_fail_bytes", t.wal_fail_bytes, false},
      {"journal_lag_warn_entries", t.journal_lag_warn_entries, "journal_lag_fail_entries", t.journal_lag_fail_entries,
       false},
      {"archive_lag_warn_us", t.archive_lag_warn_us, "archive_lag_fail_us", t.archive_lag_fail_us, false},
      {"sync_lag_warn_us", t.sync_lag_warn_us, "sync_lag_fail_us", t.sync_lag_fail_us, false},
      {"disk_free_warn_bytes", t.disk_free_warn_bytes, "disk_free_fail_bytes", t.disk_free_fail_bytes, true},
  };
  for (const Pair& p : pairs) {
    CONVSTORE_RETURN_IF_ERROR(CheckNumber(p.warn_name, static_cast<double>(p.warn)));
    CONVSTORE_RETURN_IF_ERROR(CheckNumber(p.fail_name, static_cast<double>(p.fail)));
    if (p.lower_is_worse ? p.warn < p.fail : p.warn > p.fail)
      return Status::InvalidArgument(fmt::format("health threshold {} must be {} {}", p.warn_name,
                                                 p.lower_is_worse ? "at least" : "at most", p.fail_name));
  }
  // Fractions of a whole: free pages of the file; a budget's spend of its limit, where 1 already fails.
  for (auto [name, v] : {std::pair{"free_pages_warn_fraction", t.free_pages_warn_fraction},
                         std::pair{"budget_warn_fraction", t.budget_warn_fraction}}) {
    CONVSTORE_RETURN_IF_ERROR(CheckNumber(name, v));
    if (v > 1) return Status::InvalidArgument(fmt::format("health threshold {} must be at most 1", name));
  }
  return Status::OK();
}

HealthReport JudgeHealth(const HealthFacts& f, const HealthThresholds& t) {
  HealthReport r;
  r.checked_at = f.now;
  r.checks = {QuickCheck(f),
              WalSize(f, t),
              FreePages(f, t),
              JournalLag(f, t),
              TimeLag(f, ConsumerLag::Kind::kArchive, "archive_lag", "archive", t.archive_lag_warn_us,
                      t.archive_lag_fail_us),
              TimeLag(f, ConsumerLag::Kind::kSync, "sync_lag", "PostgreSQL sync", t.sync_lag_warn_us,
                      t.sync_lag_fail_us),
              DiskFree(f, t),
              Budgets(f, t),
              Erasures(f)};
  for (const HealthCheck& c : r.checks) r.level = std::max(r.level, c.level);
  return r;
}

}  // namespace convstore::ops
