// VectorIndex: an approximate nearest-neighbour index (HNSW, hnswlib) over one embedding space's VectorCopy, for
// large unfiltered searches. It is derived, in memory only, and never persisted: its setting (VectorIndexSpec) is
// stored with the space (vector_rows.h), every handle builds its own from its copy, and a rebuild is always
// possible. Labels are the copy's slots, so the index follows the copy: Sync adds the slots the copy read or
// replaced since the last call and marks the ones it forgot as deleted (the copy records both while an index is
// attached). Results are candidates only; the search scores them exactly and checks each in its snapshot
// (vector_search.h), so a deleted or erased vector is never returned.
//
// Vectors are scored with the same SIMD loops as the exact search (vector_kernels.h): a space's metric becomes a
// distance of "smaller is closer" (cosine and dot: −q·v on the copy's prepared rows; L2: |q|² + |v|² − 2q·v, the
// squared norm kept after each vector).
//
// Not thread-safe: the caller serialises use of one index (the store keeps it beside its copy, under the copy's
// mutex). hnswlib reports failure (memory) with exceptions: every method here catches them and returns a Status.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "convstore/status.h"
#include "convstore/vectors.h"
#include "search/vector_memory.h"

namespace convstore::search {

inline constexpr int kMinIndexM = 2;
inline constexpr int kMaxIndexM = 100;
inline constexpr int kMaxIndexEf = 10'000;

// Checks a spec's ranges (kInvalidArgument naming the field).
Status ValidateIndexSpec(const VectorIndexSpec& spec);

class VectorIndex {
 public:
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Builds an index of every live row of `copy` (brought up to date by the caller), with `threads` threads (>= 1;
  // later large batches of changes use as many).
  static Result<std::unique_ptr<VectorIndex>> Build(VectorCopy& copy, const VectorIndexSpec& spec, int threads);
  // What an index of `vectors` rows of `space` would hold, about (for the memory budget).
  static int64_t BytesFor(const SpaceRow& space, int64_t vectors, const VectorIndexSpec& spec);

  const VectorIndexSpec& spec() const { return spec_; }
  int64_t bytes() const;
  int64_t indexed() const;  // live rows in the index

  // Takes in what the copy changed since the last call (it records changes while an index is attached).
  Status Sync(VectorCopy& copy);
  // The slots of about the `want` closest live rows to `query` (prepared as the copy's rows are), searching with a
  // candidate list of max(ef, want).
  Result<std::vector<uint32_t>> Search(const VectorCopy& copy, const std::vector<float>& query, size_t want,
                                       int ef);

 private:
  struct Impl;
  VectorIndex(std::unique_ptr<Impl> impl, const VectorIndexSpec& spec, int threads);
  std::unique_ptr<Impl> impl_;
  VectorIndexSpec spec_;
  int threads_;  // for large batches of changes
};

}  // namespace convstore::search
