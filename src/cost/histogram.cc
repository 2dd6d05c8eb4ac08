#include "cost/histogram.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <new>

namespace convstore::cost {

namespace {

constexpr double kGrowth = 1.02;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

int LatencyHistogram::Bucket(int64_t latency_us) {
  if (latency_us <= 0) return 0;
  return 1 + static_cast<int>(std::floor(std::log(static_cast<double>(latency_us)) / std::log(kGrowth)));
}

int64_t LatencyHistogram::Representative(int bucket) {
  if (bucket <= 0) return 0;
  double lo = std::pow(kGrowth, bucket - 1);
  return static_cast<int64_t>(std::llround(lo * std::sqrt(kGrowth)));
}

void LatencyHistogram::AddBucket(int bucket, int64_t count) {
  if (count == 0) return;
  auto it = std::lower_bound(counts_.begin(), counts_.end(), bucket,
                             [](const std::pair<int, int64_t>& e, int b) { return e.first < b; });
  if (it == counts_.end() || it->first != bucket) {
    counts_.insert(it, {bucket, count});
  } else if ((it->second += count) == 0) {
    counts_.erase(it);
  }
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (const auto& [bucket, count] : other.counts_) AddBucket(bucket, count);
}

int64_t LatencyHistogram::total() const {
  int64_t n = 0;
  for (const auto& entry : counts_) n += entry.second;
  return n;
}

int64_t LatencyHistogram::Percentile(double q) const {
  int64_t n = total();
  if (n <= 0) return 0;
  auto rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(n)));
  if (rank < 1) rank = 1;
  int64_t seen = 0;
  for (const auto& [bucket, count] : counts_) {
    seen += count;
    if (seen >= rank) return Representative(bucket);
  }
  return Representative(counts_.back().first);
}

std::string LatencyHistogram::Encode() const {
  std::string out;
  int previous = 0;
  for (const auto& [bucket, count] : counts_) {
    PutVarint(out, static_cast<uint64_t>(bucket - previous));
    PutVarint(out, ZigZag(count));
    previous = bucket;
  }
  return out;
}

bool LatencyHistogram::Decode(std::string_view blob, LatencyHistogram& out) {
  out.counts_.clear();
  uint64_t bucket = 0;
  while (!blob.empty()) {
    uint64_t step = 0, zz = 0;
    if (!GetVarint(blob, step) || !GetVarint(blob, zz)) return false;
    bucket += step;
    if (bucket > 100000) return false;
    out.AddBucket(static_cast<int>(bucket), UnZigZag(zz));
  }
  return true;
}

namespace {

// Reads the next (bucket, count) of an encoded stream; false at the end. `bad` is set for malformed input.
bool NextPair(std::string_view& in, uint64_t& bucket, int64_t& count, bool& bad) {
  if (in.empty()) return false;
  uint64_t step = 0, zz = 0;
  if (!GetVarint(in, step) || !GetVarint(in, zz) || step > 100000) {
    bad = true;
    return false;
  }
  bucket += step;
  count = UnZigZag(zz);
  return true;
}

}  // namespace

bool MergeEncoded(std::string_view a, std::string_view b, std::string& out) {
  out.clear();
  out.reserve(a.size() + b.size());
  bool bad = false;
  uint64_t ba = 0, bb = 0, previous = 0;
  int64_t ca = 0, cb = 0;
  bool has_a = NextPair(a, ba, ca, bad), has_b = NextPair(b, bb, cb, bad);
  auto emit = [&](uint64_t bucket, int64_t count) {
    if (count == 0) return;
    PutVarint(out, bucket - previous);
    PutVarint(out, ZigZag(count));
    previous = bucket;
  };
  while ((has_a || has_b) && !bad) {
    if (has_a && (!has_b || ba < bb)) {
      emit(ba, ca);
      has_a = NextPair(a, ba, ca, bad);
    } else if (has_b && (!has_a || bb < ba)) {
      emit(bb, cb);
      has_b = NextPair(b, bb, cb, bad);
    } else {
      emit(ba, ca + cb);
      has_a = NextPair(a, ba, ca, bad);
      has_b = NextPair(b, bb, cb, bad);
    }
  }
  return !bad;
}

namespace {

std::string_view BlobArg(sqlite3_value* v) {
  const void* data = sqlite3_value_blob(v);
  int n = sqlite3_value_bytes(v);
  if (data == nullptr || n <= 0) return {};
  return std::string_view(static_cast<const char*>(data), static_cast<size_t>(n));
}

void HistMerge(sqlite3_context* ctx, int, sqlite3_value** argv) {
  try {
    thread_local std::string merged;
    if (!MergeEncoded(BlobArg(argv[0]), BlobArg(argv[1]), merged)) {
      sqlite3_result_error(ctx, "convstore_hist_merge: malformed latency histogram", -1);
      return;
    }
    if (merged.empty()) {
      sqlite3_result_null(ctx);
      return;
    }
    sqlite3_result_blob64(ctx, merged.data(), merged.size(), SQLITE_TRANSIENT);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  } catch (...) {
    sqlite3_result_error(ctx, "convstore_hist_merge failed", -1);
  }
}

}  // namespace

int RegisterHistogramFunctions(sqlite3* db) {
  return sqlite3_create_function_v2(db, "convstore_hist_merge", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                    HistMerge, nullptr, nullptr, nullptr);
}

}  // namespace convstore::cost
