// OperationCounters: one store handle's statistics of its public operations (Monitoring::Stats), counted by
// StoreImpl::Call around every entry point: calls, errors, rows, and the sum, minimum, maximum and sum of squares
// of the calls' durations.
//
// Operations are numbered process-wide on first use (OperationId<&StoreImpl::DoX>() names the entry point from its
// identifier: DoAddMessage is "add_message"), so a handle's counters are a fixed array indexed by that number: a call
// costs two clock reads and a few relaxed atomic additions on that slot, with no lookup and no lock.
//
// Thread-safe: any number of threads record at once. A Snapshot taken while calls finish sees each counter atomically
// but not the slot as a whole (a call may be in `calls` and not yet in `total`); Reset races the same way.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/audit.h"
#include "convstore/cost.h"
#include "convstore/metadata.h"
#include "convstore/monitoring.h"
#include "convstore/search.h"
#include "convstore/vectors.h"
#include "convstore/types.h"

namespace convstore::api {

// At most this many distinct operations are counted; any beyond share the last slot, named "other".
inline constexpr int kMaxOperations = 160;

// The number of the operation named `name` ("add_message"), assigned on first use. Thread-safe.
int RegisterOperation(std::string_view name);
// The snake_case name of an entry point, from the signature the compiler gives a function templated on it:
// "...StoreImpl::DoAddMessage..." is "add_message".
std::string OperationNameFromSignature(std::string_view signature);

template <auto Entry>
constexpr std::string_view EntrySignature() {
  return __PRETTY_FUNCTION__;
}

// The process-wide number of entry point `Entry` (a pointer to a StoreImpl member function named Do...).
template <auto Entry>
int OperationId() {
  static const int id = RegisterOperation(OperationNameFromSignature(EntrySignature<Entry>()));
  return id;
}

class OperationCounters {
 public:
  void Record(int id, bool ok, int64_t rows, int64_t nanos) noexcept {
    Slot& s = slots_[static_cast<size_t>(id)];
    s.calls.fetch_add(1, std::memory_order_relaxed);
    if (!ok) s.errors.fetch_add(1, std::memory_order_relaxed);
    if (rows != 0) s.rows.fetch_add(rows, std::memory_order_relaxed);
    s.total_ns.fetch_add(nanos, std::memory_order_relaxed);
    const double us = static_cast<double>(nanos) / 1000.0;
    s.sum_squares_us.fetch_add(us * us, std::memory_order_relaxed);
    Replace(s.min_ns, nanos, std::less<>());
    Replace(s.max_ns, nanos, std::greater<>());
  }

  // What a slot holds, in the form the file saves (src/api/statistics.cc).
  struct Totals {
    std::string name;
    int64_t calls = 0, errors = 0, rows = 0, total_ns = 0, min_ns = 0, max_ns = 0;
    double sum_squares_us = 0;
  };
  // The operations called at least once.
  std::vector<Totals> Snapshot() const;
  void Reset() noexcept;

 private:
  // Stores v in `slot` when better(v, what it holds) (a running minimum or maximum).
  template <typename Better>
  static void Replace(std::atomic<int64_t>& slot, int64_t v, Better better) noexcept {
    for (int64_t held = slot.load(std::memory_order_relaxed);
         better(v, held) && !slot.compare_exchange_weak(held, v, std::memory_order_relaxed);) {
    }
  }

  struct alignas(64) Slot {
    std::atomic<int64_t> calls{0}, errors{0}, rows{0}, total_ns{0};
    std::atomic<int64_t> min_ns{INT64_MAX}, max_ns{0};
    std::atomic<double> sum_squares_us{0};
  };
  std::array<Slot, kMaxOperations> slots_{};
};

// Records returned or written by a successful call (OperationStats::rows).
int64_t RowsOf(const Status&);
template <typename T>
int64_t RowsOf(const std::vector<T>& v) {
  return static_cast<int64_t>(v.size());
}
template <typename T>
int64_t RowsOf(const std::optional<T>& v) {
  return v.has_value() ? 1 : 0;
}
inline int64_t RowsOf(int64_t count) { return count; }
int64_t RowsOf(const ConversationPage& page);
int64_t RowsOf(const ConversationWithMessages& conversation);
int64_t RowsOf(const MetadataSearchResult& result);
int64_t RowsOf(const AuditPage& page);
int64_t RowsOf(const MetricSeries& series);
int64_t RowsOf(const CostGroupResult& groups);
int64_t RowsOf(const StoreStats& stats);
int64_t RowsOf(const HealthReport& report);
int64_t RowsOf(const CostReport& report);
int64_t RowsOf(const TextSearchResult& result);
int64_t RowsOf(const VectorSearchResult& result);
int64_t RowsOf(const HybridSearchResult& result);
template <typename T>
int64_t RowsOf(const T&) {
  return 1;
}
template <typename T>
int64_t RowsOf(const Result<T>& r) {
  return r.ok() ? RowsOf(*r) : 0;
}

}  // namespace convstore::api
