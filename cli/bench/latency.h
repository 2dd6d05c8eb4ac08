// Latency samples of one side of a benchmark (each call timed), summarised as users report them: percentiles by
// nearest rank (p50, p90, p99, p99.9), the maximum, the mean, and throughput over the time the calls ran.
//
// Not thread-safe: one Samples per thread or process, merged afterwards.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace convstore::cli::bench {

struct LatencySummary {
  int64_t calls = 0;
  double seconds = 0;  // wall time the calls ran (the blocks' lengths, not their sum over workers)
  double calls_per_second = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};

class Samples {
 public:
  void Add(int64_t ns) { ns_.push_back(ns); }
  void Merge(const std::vector<int64_t>& more) { ns_.insert(ns_.end(), more.begin(), more.end()); }
  const std::vector<int64_t>& ns() const { return ns_; }
  void AddSeconds(double s) { seconds_ += s; }

  LatencySummary Summarize() {
    LatencySummary s;
    s.calls = static_cast<int64_t>(ns_.size());
    s.seconds = seconds_;
    if (ns_.empty()) return s;
    std::sort(ns_.begin(), ns_.end());
    const auto rank = [&](double q) {  // nearest rank: the smallest sample with at least q of them at or below
      size_t i = static_cast<size_t>(q * static_cast<double>(ns_.size()) + 0.999999);
      return static_cast<double>(ns_[std::min(ns_.size(), std::max<size_t>(i, 1)) - 1]) / 1000.0;
    };
    s.p50_us = rank(0.50);
    s.p90_us = rank(0.90);
    s.p99_us = rank(0.99);
    s.p999_us = rank(0.999);
    s.max_us = static_cast<double>(ns_.back()) / 1000.0;
    double total = 0;
    for (int64_t v : ns_) total += static_cast<double>(v);
    s.mean_us = total / static_cast<double>(ns_.size()) / 1000.0;
    s.calls_per_second = seconds_ > 0 ? static_cast<double>(s.calls) / seconds_ : 0;
    return s;
  }

 private:
  std::vector<int64_t> ns_;
  double seconds_ = 0;
};

}  // namespace convstore::cli::bench
