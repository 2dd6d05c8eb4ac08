// The store's statistics (Monitoring::Stats, ResetStats): this handle's counters merged with those saved in the
// file by handles closed earlier (schema version 10's operation_stats and stats_counters), and the save at Close.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "api/store_impl.h"

namespace convstore::api {

namespace {

constexpr int kStatsSchemaVersion = 10;  // the first with the saved statistics' tables

// The store-wide counters, saved in stats_counters under their field's name.
struct StoreCounters {
  int64_t cache_hits = 0, cache_misses = 0, cache_writes = 0, checkpoints = 0;
};
constexpr std::pair<const char*, int64_t StoreCounters::*> kStoreCounters[] = {
    {"cache_hits", &StoreCounters::cache_hits},
    {"cache_misses", &StoreCounters::cache_misses},
    {"cache_writes", &StoreCounters::cache_writes},
    {"checkpoints", &StoreCounters::checkpoints}};

StoreCounters Of(const sqlite::CacheUse& cache, int64_t checkpoints) {
  return {cache.hits, cache.misses, cache.writes, checkpoints};
}

Status SavedCountersDamaged(std::string_view what) {
  return Status::Corruption(fmt::format("the saved statistics hold {}: the file was changed by another program", what));
}

// Adds `more` to `into`; false when a sum would overflow (saved counters made huge by another program).
bool Add(StoreCounters& into, const StoreCounters& more) {
  for (const auto& [name, field] : kStoreCounters)
    if (__builtin_add_overflow(into.*field, more.*field, &(into.*field))) return false;
  return true;
}

// An operation's name as convstore writes it (OperationNameFromSignature): 1-64 of a-z, 0-9 and _.
bool IsOperationName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Adds t's counters to into's; false when a sum would overflow (saved counters made huge by another program).
bool Merge(OperationCounters::Totals& into, const OperationCounters::Totals& t) {
  if (into.calls == 0) {
    into = t;
    return true;
  }
  if (__builtin_add_overflow(into.calls, t.calls, &into.calls) ||
      __builtin_add_overflow(into.errors, t.errors, &into.errors) ||
      __builtin_add_overflow(into.rows, t.rows, &into.rows) ||
      __builtin_add_overflow(into.total_ns, t.total_ns, &into.total_ns))
    return false;
  into.min_ns = std::min(into.min_ns, t.min_ns);
  into.max_ns = std::max(into.max_ns, t.max_ns);
  into.sum_squares_us += t.sum_squares_us;
  return true;
}

OperationStats Finished(const OperationCounters::Totals& t) {
  OperationStats o;
  o.name = t.name;
  o.calls = t.calls;
  o.errors = t.errors;
  o.rows = t.rows;
  o.total_us = static_cast<double>(t.total_ns) / 1000.0;
  o.min_us = static_cast<double>(t.min_ns) / 1000.0;
  o.max_us = static_cast<double>(t.max_ns) / 1000.0;
  if (t.calls > 0) {
    const double n = static_cast<double>(t.calls);
    o.mean_us = o.total_us / n;
    o.stddev_us = std::sqrt(std::max(0.0, t.sum_squares_us / n - o.mean_us * o.mean_us));
  }
  return o;
}

// The saved counters, checked: what a save writes, or kCorruption.
Status ReadSaved(sqlite::Connection& conn, std::map<std::string, OperationCounters::Totals>* operations,
                 StoreCounters* counters, std::optional<int64_t>* since) {
  auto txn = sqlite::ReadTransaction::Begin(conn);  // both tables from one snapshot
  if (!txn.ok()) return txn.status();
  Status damaged = Status::OK();
  auto rows = conn.ForEachRow(
      "SELECT name, calls, errors, rows, total_ns, min_ns, max_ns, sum_squares_us FROM operation_stats",
      "stats: read the saved counters", [&](const sqlite::Stmt& st) {
        OperationCounters::Totals t;
        t.name = st.String(0);
        t.calls = st.Int(1);
        t.errors = st.Int(2);
        t.rows = st.Int(3);
        t.total_ns = st.Int(4);
        t.min_ns = st.Int(5);
        t.max_ns = st.Int(6);
        t.sum_squares_us = st.Double(7);
        // What a save writes: an operation's name, at least one call, errors among them, times ordered.
        if (!IsOperationName(t.name))
          damaged = SavedCountersDamaged("an operation name that is not one");
        else if (t.calls < 1 || t.errors < 0 || t.errors > t.calls || t.rows < 0 || t.total_ns < 0 || t.min_ns < 0 ||
            t.min_ns > t.max_ns || !(t.sum_squares_us >= 0) || !std::isfinite(t.sum_squares_us))
          damaged = SavedCountersDamaged(fmt::format("impossible counters for '{}'", t.name));
        else if (!Merge((*operations)[t.name], t))
          damaged = SavedCountersDamaged(fmt::format("counters for '{}' too large to add up", t.name));
        return damaged.ok();
      });
  if (!rows.ok()) return rows.status();
  CONVSTORE_RETURN_IF_ERROR(damaged);
  std::map<std::string, int64_t> saved;
  rows = conn.ForEachRow("SELECT name, value FROM stats_counters", "stats: read the saved store counters",
                         [&](const sqlite::Stmt& st) {
                           saved[st.String(0)] = st.Int(1);
                           return true;
                         });
  if (!rows.ok()) return rows.status();
  for (const auto& [name, field] : kStoreCounters)
    if (auto it = saved.find(name); it != saved.end()) {
      if (it->second < 0) return SavedCountersDamaged(fmt::format("a negative {}", name));
      (*counters).*field = it->second;
    }
  if (auto it = saved.find("since"); it != saved.end()) *since = it->second;
  return Status::OK();
}

int64_t WalBytes(const std::string& path) {
  struct stat st {};
  return ::stat((path + "-wal").c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

}  // namespace

int64_t& StoreImpl::CountedCall::OnThisThread(const StoreImpl* store) noexcept {
  struct Slot {
    const StoreImpl* store = nullptr;
    int64_t depth = 0;
  };
  thread_local std::array<Slot, 8> slots;
  thread_local int64_t untracked = 0;  // a thread inside calls of more than 8 stores at once (callbacks nesting)
  Slot* free_slot = nullptr;
  for (Slot& s : slots) {
    if (s.store == store) return s.depth;
    if (s.depth == 0 && free_slot == nullptr) free_slot = &s;
  }
  if (free_slot == nullptr) return untracked;
  free_slot->store = store;
  return free_slot->depth;
}

void StoreImpl::WaitForCountedCalls() noexcept {
  // Calls finishing their count take microseconds; one blocked in a callback of the caller's (a budget alert) is not
  // waited for long: its count may then miss the save.
  const int64_t own = CountedCall::OnThisThread(this);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (counted_calls_.load(std::memory_order_acquire) > own) {
    if (std::chrono::steady_clock::now() > give_up) return;
    std::this_thread::yield();
  }
}

void StoreImpl::GatherConnectionCounters() {
  if (readers_) cache_.Add(readers_->TakeCacheUse());
  if (writes_) cache_.Add(writes_->TakeCacheUse());
  {
    std::unique_lock lock(write_mu_, std::defer_lock);
    util::LockParked(lock);
    cache_.Add(writer_->TakeCacheUse());  // what ran on it outside a write group (maintenance, erasure steps)
    // Under the write mutex: StopCheckpointer takes the checkpointer away under it.
    if (checkpointer_) checkpoints_.fetch_add(checkpointer_->TakeRuns(), std::memory_order_relaxed);
  }
  checkpoints_.fetch_add(writer_->TakeAutoCheckpoints(), std::memory_order_relaxed);
}

Result<StoreStats> StoreImpl::DoStats(const StatsOptions& options) {
  {
    std::shared_lock life(lifecycle_, std::defer_lock);
    util::LockParked(life);
    CONVSTORE_RETURN_IF_ERROR(CheckUsable());
    GatherConnectionCounters();
  }
  std::map<std::string, OperationCounters::Totals> operations;
  StoreCounters counters;
  std::optional<int64_t> since;
  const bool file = path_ != ConversationStore::kInMemory;
  if (options.saved && file && schema_version_ >= kStatsSchemaVersion) {
    auto saved =
        Read("stats", [&](sqlite::Connection& conn) { return ReadSaved(conn, &operations, &counters, &since); });
    CONVSTORE_RETURN_IF_ERROR(saved);
  }
  for (const OperationCounters::Totals& t : operations_.Snapshot())
    if (!Merge(operations[t.name], t))
      return SavedCountersDamaged(fmt::format("counters for '{}' too large to add up", t.name));
  if (!Add(counters, Of(cache_.Peek(), checkpoints_.load(std::memory_order_relaxed))))
    return SavedCountersDamaged("a store counter too large to add up");
  StoreStats stats;
  stats.since = since.value_or(counting_since_.load(std::memory_order_relaxed));
  for (const auto& [name, t] : operations) stats.operations.push_back(Finished(t));
  std::stable_sort(stats.operations.begin(), stats.operations.end(),
                   [](const OperationStats& a, const OperationStats& b) { return a.total_us > b.total_us; });
  stats.cache_hits = counters.cache_hits;
  stats.cache_misses = counters.cache_misses;
  stats.cache_writes = counters.cache_writes;
  stats.checkpoints = counters.checkpoints;
  stats.wal_bytes = file ? WalBytes(path_) : 0;
  return stats;
}

Status StoreImpl::DoResetStats() {
  const int64_t now = Now();
  if (path_ != ConversationStore::kInMemory && !options_.read_only && schema_version_ >= kStatsSchemaVersion) {
    Status reset = Write("reset_stats", [&](sqlite::Connection& conn) -> Status {
      CONVSTORE_RETURN_IF_ERROR(conn.Run("DELETE FROM operation_stats", "reset_stats: delete the saved counters"));
      CONVSTORE_RETURN_IF_ERROR(conn.Run("DELETE FROM stats_counters", "reset_stats: delete the saved counters"));
      return conn.Run("INSERT INTO stats_counters(name, value) VALUES ('since', ?1)", "reset_stats: note the time",
                      now);
    });
    if (!reset.ok()) return reset;
  }
  {
    std::shared_lock life(lifecycle_, std::defer_lock);
    util::LockParked(life);
    CONVSTORE_RETURN_IF_ERROR(CheckUsable());
    GatherConnectionCounters();  // and dropped with the rest
  }
  operations_.Reset();
  (void)cache_.Take();
  checkpoints_.store(0, std::memory_order_relaxed);
  counting_since_.store(now, std::memory_order_relaxed);
  return Status::OK();
}

Status StoreImpl::DoSetStatsEnabled(bool enabled) {
  counting_.store(enabled, std::memory_order_relaxed);
  return Status::OK();
}

void StoreImpl::SaveStats() noexcept {
  if (path_ == ConversationStore::kInMemory || options_.read_only || schema_version_ < kStatsSchemaVersion) return;
  try {
    SaveStatsOrThrow();
  } catch (const std::exception& e) {  // out of memory, mostly: the counters are lost, the close goes on
    try {
      util::Logger().warn("could not save the statistics of '{}' when closing: {}", path_, e.what());
    } catch (...) {
    }
  } catch (...) {
  }
}

void StoreImpl::SaveStatsOrThrow() {
  GatherConnectionCounters();
  const std::vector<OperationCounters::Totals> operations = operations_.Snapshot();
  if (operations.empty()) return;  // opened and closed without a call: nothing worth a write
  const StoreCounters counters = Of(cache_.Peek(), checkpoints_.load(std::memory_order_relaxed));
  const int64_t since = counting_since_.load(std::memory_order_relaxed);
  sqlite::PendingWrite w;
  w.body = [&](sqlite::Connection& conn) -> Status {
    for (const OperationCounters::Totals& t : operations)
      CONVSTORE_RETURN_IF_ERROR(conn.Run(
          "INSERT INTO operation_stats(name, calls, errors, rows, total_ns, min_ns, max_ns, sum_squares_us)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(name) DO UPDATE SET calls = calls + excluded.calls,"
          " errors = errors + excluded.errors, rows = rows + excluded.rows, total_ns = total_ns + excluded.total_ns,"
          " min_ns = min(min_ns, excluded.min_ns), max_ns = max(max_ns, excluded.max_ns),"
          " sum_squares_us = sum_squares_us + excluded.sum_squares_us",
          "save the statistics", t.name, t.calls, t.errors, t.rows, t.total_ns, t.min_ns, t.max_ns,
          t.sum_squares_us));
    for (const auto& [name, field] : kStoreCounters)
      if (counters.*field != 0)
        CONVSTORE_RETURN_IF_ERROR(conn.Run("INSERT INTO stats_counters(name, value) VALUES (?1, ?2)"
                                           " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                                           "save the statistics", std::string_view(name), counters.*field));
    return conn.Run("INSERT OR IGNORE INTO stats_counters(name, value) VALUES ('since', ?1)", "save the statistics",
                    since);
  };
  // A close does not wait long for another process's write lock: the counters are worth less than that.
  writer_->SetBusyTimeout(std::min(options_.busy_timeout_ms, 250));
  if (Status s = writes_->Submit(w); !s.ok())
    util::Logger().warn("could not save the statistics of '{}' when closing: {}", path_, s.ToString());
}

}  // namespace convstore::api
