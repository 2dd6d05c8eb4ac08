#include "search/vector_memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace convstore::search {

namespace {

struct CopySql {
  const char* since;  // ?1 id above, ?2 space
  const char* ids;    // ?1 space
};

const CopySql& CopySqlOf(EmbeddingTarget target) {
  static const CopySql kMessages = {
      "SELECT id, message_id, vector FROM message_embeddings WHERE id > ?1 AND space_id = ?2 ORDER BY id",
      "SELECT id FROM message_embeddings WHERE space_id = ?1"};
  static const CopySql kConversations = {
      "SELECT id, conversation_id, vector FROM conversation_embeddings WHERE id > ?1 AND space_id = ?2 ORDER BY id",
      "SELECT id FROM conversation_embeddings WHERE space_id = ?1"};
  return target == EmbeddingTarget::kMessages ? kMessages : kConversations;
}

}  // namespace

double PrepareVector(VectorMetric metric, float* v, size_t dim) {
  double norm2 = 0;
  for (size_t i = 0; i < dim; ++i) norm2 += static_cast<double>(v[i]) * v[i];
  if (metric == VectorMetric::kCosine && norm2 > 0) {
    const double unit = 1.0 / std::sqrt(norm2);
    for (size_t i = 0; i < dim; ++i) v[i] = static_cast<float>(v[i] * unit);
  }
  return norm2;
}

std::vector<float> PrepareQuery(VectorMetric metric, const std::vector<float>& query) {
  std::vector<float> q = query;
  PrepareVector(metric, q.data(), q.size());
  return q;
}

VectorCopy::VectorCopy(SpaceRow space, bool keep_float32)
    : space_(std::move(space)),
      dim_(static_cast<size_t>(space_.spec.dimension)),
      keep_float32_(keep_float32 || space_.spec.quantization != VectorQuantization::kInt8) {}

int64_t VectorCopy::BytesFor(const SpaceRow& space, int64_t vectors, bool keep_float32) {
  const bool int8 = space.spec.quantization == VectorQuantization::kInt8;
  const int64_t dim = space.spec.dimension;
  int64_t per_row = 8 + 8 + 1 + 4 + 24;  // id, row, alive, squared norm, hash-map entry (about)
  if (keep_float32 || !int8) per_row += 4 * dim;
  if (int8) per_row += dim + 8;
  return vectors * per_row;
}

int64_t VectorCopy::bytes() const {
  return static_cast<int64_t>(ids_.capacity() * 8 + rows_.capacity() * 8 + alive_.capacity() +
                              f32_.capacity() * 4 + sq_norms_.capacity() * 4 + i8_.capacity() +
                              scales_.capacity() * 4 + i8_sums_.capacity() * 4 + slot_of_row_.size() * 24);
}

int64_t VectorCopy::SlotOf(int64_t row) const {
  auto it = slot_of_row_.find(row);
  return it == slot_of_row_.end() ? -1 : static_cast<int64_t>(it->second);
}

void VectorCopy::Store(uint32_t slot, const float* v) {
  float* row;
  if (keep_float32_) {
    row = f32_.data() + static_cast<size_t>(slot) * dim_;
  } else {
    scratch_.resize(dim_);
    row = scratch_.data();
  }
  std::copy(v, v + dim_, row);
  sq_norms_[slot] = static_cast<float>(PrepareVector(space_.spec.metric, row, dim_));
  if (has_int8()) {
    float max_abs = 0;
    for (size_t i = 0; i < dim_; ++i) max_abs = std::max(max_abs, std::fabs(row[i]));
    const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    scales_[slot] = scale;
    int8_t* q = i8_.data() + static_cast<size_t>(slot) * dim_;
    int32_t sum = 0;
    for (size_t i = 0; i < dim_; ++i) {
      q[i] = static_cast<int8_t>(std::clamp(std::lround(row[i] / scale), -127L, 127L));
      sum += q[i];
    }
    i8_sums_[slot] = sum;
  }
}

Status VectorCopy::Refresh(sqlite::Connection& conn) {
  auto st = conn.Prepare(CopySqlOf(space_.spec.target).since);
  if (!st.ok()) return st.status();
  st->Bind(1, read_upto_).Bind(2, space_.id);
  std::vector<float> v(dim_);
  for (;;) {
    auto row = st->Step("read new vectors");
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!*row) break;
    const int64_t id = st->Int(0);
    const int64_t target_row = st->Int(1);
    if (!DecodeVector(st->Blob(2), dim_, v.data())) {
      st->Reset();
      return Status::Corruption(fmt::format("vector {} of space '{}' is not {} finite float32 values", id,
                                            space_.spec.name, dim_));
    }
    uint32_t slot;
    auto it = slot_of_row_.find(target_row);
    if (it != slot_of_row_.end()) {  // a replaced vector: its slot takes the new one
      slot = it->second;
    } else {
      slot = static_cast<uint32_t>(rows_.size());
      ids_.push_back(0);
      rows_.push_back(target_row);
      alive_.push_back(1);
      sq_norms_.push_back(0);
      if (keep_float32_) f32_.resize(f32_.size() + dim_);
      if (has_int8()) {
        i8_.resize(i8_.size() + dim_);
        scales_.push_back(1);
        i8_sums_.push_back(0);
      }
      slot_of_row_.emplace(target_row, slot);
      ++live_count_;
    }
    ids_[slot] = id;
    Store(slot, v.data());
    if (tracking_) changes_.stored.push_back(slot);
    read_upto_ = std::max(read_upto_, id);
  }
  st->Reset();
  return Status::OK();
}

void VectorCopy::Forget(uint32_t slot) {
  if (!alive_[slot]) return;
  alive_[slot] = 0;
  --live_count_;
  slot_of_row_.erase(rows_[slot]);
  if (tracking_) changes_.forgotten.push_back(slot);
}

void VectorCopy::TrackChanges(bool on) {
  tracking_ = on;
  if (!on) changes_ = Changes{};
}

VectorCopy::Changes VectorCopy::TakeChanges() { return std::exchange(changes_, Changes{}); }

Status VectorCopy::Sweep(sqlite::Connection& conn) {
  std::vector<int64_t> present;
  present.reserve(live_count_);
  auto rows = conn.ForEachRow(
      CopySqlOf(space_.spec.target).ids, "list a space's vectors",
      [&](const sqlite::Stmt& st) {
        present.push_back(st.Int(0));
        return true;
      },
      space_.id);
  if (!rows.ok()) return rows.status();
  std::sort(present.begin(), present.end());
  for (uint32_t slot = 0; slot < ids_.size(); ++slot)
    if (alive_[slot] && !std::binary_search(present.begin(), present.end(), ids_[slot])) Forget(slot);
  return Status::OK();
}

}  // namespace convstore::search
