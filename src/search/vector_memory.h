// VectorCopy: one embedding space's vectors in contiguous memory, what a search scores. Rows of float32 (normalised
// in a cosine space, so every metric is a dot product), each row's squared norm (L2), and in an int8 space an int8
// copy with one scale per row. It follows the table by ids: Refresh reads the rows whose id is above the largest it
// has read (new vectors, and replaced ones, which get new ids), and a row found gone when a search checks its hits
// is forgotten (Sweep forgets every gone row at once).
//
// Not thread-safe: the caller serialises use of one copy (the store keeps one per space and handle, under a mutex).
// Refresh and Sweep read through the caller's connection, in its transaction.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "convstore/status.h"
#include "search/vector_rows.h"
#include "sqlite/connection.h"

namespace convstore::search {

// Prepares a row or a query as the copies score it: normalised in place in a cosine space (a zero vector stays as
// it is). Returns the squared norm of the vector as given (what L2 needs).
double PrepareVector(VectorMetric metric, float* values, size_t dimension);
// A query, prepared.
std::vector<float> PrepareQuery(VectorMetric metric, const std::vector<float>& query);

class VectorCopy {
 public:
  // keep_float32: false keeps only the int8 copy of an int8 space (rescoring then reads the table).
  VectorCopy(SpaceRow space, bool keep_float32);

  const SpaceRow& space() const { return space_; }
  size_t dimension() const { return dim_; }
  // Slots ever used (live or forgotten).
  size_t slots() const { return rows_.size(); }
  size_t live() const { return live_count_; }
  bool has_float32() const { return keep_float32_; }
  bool has_int8() const { return space_.spec.quantization == VectorQuantization::kInt8; }
  // Bytes held.
  int64_t bytes() const;
  // What a copy of `vectors` rows of `space` would hold (for the memory budget).
  static int64_t BytesFor(const SpaceRow& space, int64_t vectors, bool keep_float32);

  // Reads the rows written since the last refresh (every row the first time).
  Status Refresh(sqlite::Connection& conn);
  // Forgets every row whose id the table no longer has (among ids up to the table's largest as of this snapshot).
  Status Sweep(sqlite::Connection& conn);
  // Forgets one slot.
  void Forget(uint32_t slot);

  // While tracking (an index is attached), the slots Refresh stored (new rows and replaced vectors) and the ones
  // forgotten since the last TakeChanges.
  struct Changes {
    std::vector<uint32_t> stored;
    std::vector<uint32_t> forgotten;
  };
  void TrackChanges(bool on);
  Changes TakeChanges();

  bool alive(uint32_t slot) const { return alive_[slot] != 0; }
  int64_t row(uint32_t slot) const { return rows_[slot]; }
  int64_t vector_id(uint32_t slot) const { return ids_[slot]; }
  // The slot of a target row, or -1.
  int64_t SlotOf(int64_t row) const;
  // The largest vector id read.
  int64_t read_upto() const { return read_upto_; }

  // Row data (valid until the next Refresh): float32 rows (normalised for cosine), squared norms of the vectors as
  // given (L2), int8 rows, their scales and their sums.
  const float* float32() const { return f32_.data(); }
  const float* squared_norms() const { return sq_norms_.data(); }
  const int8_t* int8() const { return i8_.data(); }
  const float* scales() const { return scales_.data(); }
  const int32_t* int8_sums() const { return i8_sums_.data(); }  // Σ of each int8 row (vector_kernels.h)

 private:
  void Store(uint32_t slot, const float* v);

  SpaceRow space_;
  size_t dim_;
  bool keep_float32_;
  int64_t read_upto_ = 0;
  size_t live_count_ = 0;
  std::vector<int64_t> ids_;       // vector id (the table's rowid) per slot
  std::vector<int64_t> rows_;      // target row per slot
  std::vector<uint8_t> alive_;
  std::vector<float> f32_;
  std::vector<float> sq_norms_;
  std::vector<int8_t> i8_;
  std::vector<float> scales_;
  std::vector<int32_t> i8_sums_;
  std::vector<float> scratch_;  // a row being prepared when no float32 copy is kept
  std::unordered_map<int64_t, uint32_t> slot_of_row_;
  bool tracking_ = false;
  Changes changes_;
};

}  // namespace convstore::search
