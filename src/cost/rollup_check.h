// Verifying and rebuilding the cost rollups from the raw rows, exactly.
//
// Sums are recomputed in 128 bits, so a day whose true sum passes the 64-bit range is compared exactly and
// reported as an overflow — not as a difference — and a rebuild keeps the raw rows of such a day pending (as the
// writers do) instead of failing. Not thread-safe: runs on the connection of the caller's transaction.
#pragma once
#include <cstdint>

#include "convstore/cost.h"
#include "cost/histogram.h"
#include "cost/rollups.h"
#include "sqlite/connection.h"
#include "util/int128.h"

namespace convstore::cost {

// Measures with 128-bit sums: exact for any number of rows within their limits.
struct WideMeasures {
  util::Int128 count = 0, errors = 0;
  util::Int128 tokens[5] = {0, 0, 0, 0, 0};
  util::Int128 cost = 0;
  util::Int128 latency_count = 0, latency_sum = 0;
  LatencyHistogram hist;

  void Add(const CostRow& row, int sign);
  void Merge(const Measures& stored);
  void Merge(const WideMeasures& other);
  bool Fits() const;  // every sum within the int64 range
  Measures Narrow() const;  // precondition: Fits()
  bool zero() const;
  bool operator==(const WideMeasures& o) const;
};
using WideDelta = BasicDelta<WideMeasures>;

// Every raw row (messages and api_usage), in file order.
Status ForEachRawCostRow(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit);

// What the rollups plus the pending rows should hold: every raw row counted once (a full scan).
Result<WideDelta> RecomputeFromRaw(sqlite::Connection& conn, int64_t* raw_rows);

// Compares the stored rollups plus pending rows with `expected`, exactly; fills the report's counters and samples.
Status CompareRollups(sqlite::Connection& conn, const WideDelta& expected, RollupReport& report);

// Replaces the rollups, totals and pending rows with `all_rows` (every raw row, RecomputeFromRaw) and sets the
// watermark below every conversation's pending messages: the messages past it are left out of the rollups, pending
// in place. Rows counted under a key whose sum passes the int64 range are stored as pending rows (a second scan
// finds them).
Status ReplaceRollups(sqlite::Connection& conn, const WideDelta& all_rows);

// The rollups' cheap invariants, in O(rollups + totals + pending) without reading a raw row (quick_check_on_open):
// every stored row is Plausible and its latency histogram decodes to as many latencies as it counts; the
// everything and team totals equal the fine rollups summed per day and source; pending rows hold valid values and
// fewer than kPendingMergeRows of them could still be folded (the rest would pass the int64 range). kCorruption
// naming what fails.
Status CheckRollupInvariants(sqlite::Connection& conn);

}  // namespace convstore::cost
