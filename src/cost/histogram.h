// LatencyHistogram: log-bucketed latency counts, small enough to keep per rollup row and exact to merge.
//
// Bucket 0 holds 0 µs; bucket i >= 1 holds [g^(i-1), g^i) µs with g = 1.02, so a bucket's geometric midpoint is
// within 1% of any value in it and a percentile read from the histogram is within 1% of the exact nearest-rank
// value. Counts are signed so a delta (a delete) can be merged like an insert.
// Encoding (the latency_hist BLOB): pairs of LEB128 varints (bucket index delta from the previous pair, zigzag
// count), buckets ascending, zero counts omitted; an empty histogram is NULL / empty.
// Thread-safety: a plain value.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct sqlite3;

namespace convstore::cost {

class LatencyHistogram {
 public:
  static int Bucket(int64_t latency_us);
  static int64_t Representative(int bucket);  // geometric midpoint of the bucket, µs

  void Add(int64_t latency_us, int64_t count = 1) { AddBucket(Bucket(latency_us), count); }
  void AddBucket(int bucket, int64_t count);
  void Merge(const LatencyHistogram& other);
  bool empty() const { return counts_.empty(); }
  bool any_negative() const {  // after subtracting more than was added
    for (const auto& [bucket, count] : counts_)
      if (count < 0) return true;
    return false;
  }
  int64_t total() const;
  // Nearest-rank percentile (q in (0, 1]); 0 when empty.
  int64_t Percentile(double q) const;

  std::string Encode() const;
  // False for a malformed blob (out is then unspecified).
  static bool Decode(std::string_view blob, LatencyHistogram& out);

  bool operator==(const LatencyHistogram& other) const { return counts_ == other.counts_; }

 private:
  std::vector<std::pair<int, int64_t>> counts_;  // (bucket, count) by bucket; no zero counts
};

// Merges two encoded histograms without decoding them into containers (the rollup upsert's hot path); false for
// a malformed input.
bool MergeEncoded(std::string_view a, std::string_view b, std::string& out);

// Registers convstore_hist_merge(a BLOB, b BLOB) -> BLOB on the connection (used by the rollup upsert).
int RegisterHistogramFunctions(sqlite3* db);

}  // namespace convstore::cost
