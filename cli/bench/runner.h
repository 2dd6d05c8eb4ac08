// Runs a Workload as users measure: both sides in alternating blocks (convstore, raw; then raw, convstore; ...) so
// a noisy machine's drift falls on both alike, every call timed, a warm-up block per side first (not counted).
// Threads are started per block; processes are forked per block and send their samples back through a pipe.
//
// Not thread-safe: one run at a time. Throws std::runtime_error when a call or a worker process fails.
#pragma once
#include "bench/latency.h"
#include "bench/workload.h"

namespace convstore::cli::bench {

struct SideResult {
  LatencySummary latency;
  double items_per_second = 0;
};

struct WorkloadResult {
  SideResult convstore, raw;
};

WorkloadResult RunWorkload(const Workload& w, int rounds, double block_seconds);

}  // namespace convstore::cli::bench
