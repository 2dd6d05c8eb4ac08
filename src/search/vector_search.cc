#include "search/vector_search.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "search/vector_kernels.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::search {

namespace {

// Candidates kept beyond k, so that rows forgotten at the check (or near-ties that double precision orders
// differently from float32) still leave k.
constexpr size_t kMargin = 8;
// Rows scored per call of a scoring loop.
constexpr size_t kBlock = 1024;

struct VectorCandidate {
  uint32_t slot = 0;
  double score = 0;  // higher is closer
  int64_t row = 0;
};

// Orders candidates best first: higher score, then the newer (larger) row.
bool BetterCandidate(const VectorCandidate& a, const VectorCandidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.row > b.row;
}

// The best `want` of what is offered (a heap whose top is the worst kept).
class TopK {
 public:
  explicit TopK(size_t want) : want_(want) { heap_.reserve(want + 1); }
  void Offer(uint32_t slot, double score, int64_t row) {
    VectorCandidate c{slot, score, row};
    if (heap_.size() < want_) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end(), BetterCandidate);
    } else if (want_ > 0 && BetterCandidate(c, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), BetterCandidate);
      heap_.back() = c;
      std::push_heap(heap_.begin(), heap_.end(), BetterCandidate);
    }
  }
  // The score a row must beat to enter (−inf until full).
  double Threshold() const { return heap_.size() < want_ ? -INFINITY : heap_.front().score; }
  std::vector<VectorCandidate> Take() {
    std::sort(heap_.begin(), heap_.end(), BetterCandidate);
    return std::move(heap_);
  }

 private:
  size_t want_;
  std::vector<VectorCandidate> heap_;
};

// The approximate score ranking uses: the dot product, or for L2 2·q·v − |v|² (−|q|² is the same for every row).
double RankScore(VectorMetric metric, double dot, float squared_norm) {
  return metric == VectorMetric::kL2 ? 2 * dot - squared_norm : dot;
}

// Scores every live slot (or the listed ones) with the float32 loops; the best `want`.
std::vector<VectorCandidate> ScanFloat32(const VectorCopy& copy, const std::vector<float>& q, size_t want,
                                   const std::vector<uint32_t>* slots) {
  const size_t dim = copy.dimension();
  const VectorMetric metric = copy.space().spec.metric;
  TopK top(want);
  float out[kBlock];
  const size_t n = slots ? slots->size() : copy.slots();
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t count = std::min(kBlock, n - start);
    if (slots)
      DotF32Slots(q.data(), copy.float32(), dim, slots->data() + start, count, out);
    else
      DotF32(q.data(), copy.float32() + start * dim, dim, count, out);
    for (size_t i = 0; i < count; ++i) {
      const uint32_t slot = slots ? (*slots)[start + i] : static_cast<uint32_t>(start + i);
      if (!copy.alive(slot)) continue;
      const double score = RankScore(metric, out[i], copy.squared_norms()[slot]);
      if (score >= top.Threshold()) top.Offer(slot, score, copy.row(slot));
    }
  }
  return top.Take();
}

// The same over the int8 rows: the query quantised with one scale, products exact in int32.
std::vector<VectorCandidate> ScanInt8(const VectorCopy& copy, const std::vector<float>& q, size_t want,
                                const std::vector<uint32_t>* slots) {
  const size_t dim = copy.dimension();
  const VectorMetric metric = copy.space().spec.metric;
  // The query in 7 bits (vector_kernels.h): its rounding only orders candidates, which are rescored exactly.
  float max_abs = 0;
  for (float x : q) max_abs = std::max(max_abs, std::fabs(x));
  const float q_scale = max_abs > 0 ? max_abs / 63.0f : 1.0f;
  std::vector<int8_t> q7(dim);
  for (size_t i = 0; i < dim; ++i)
    q7[i] = static_cast<int8_t>(std::clamp(std::lround(q[i] / q_scale), -63L, 63L));
  TopK top(want);
  int32_t out[kBlock];
  const size_t n = slots ? slots->size() : copy.slots();
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t count = std::min(kBlock, n - start);
    if (slots)
      DotI8Slots(q7.data(), copy.int8(), copy.int8_sums(), dim, slots->data() + start, count, out);
    else
      DotI8(q7.data(), copy.int8() + start * dim, copy.int8_sums() + start, dim, count, out);
    for (size_t i = 0; i < count; ++i) {
      const uint32_t slot = slots ? (*slots)[start + i] : static_cast<uint32_t>(start + i);
      if (!copy.alive(slot)) continue;
      const double dot = static_cast<double>(out[i]) * q_scale * copy.scales()[slot];
      const double score = RankScore(metric, dot, copy.squared_norms()[slot]);
      if (score >= top.Threshold()) top.Offer(slot, score, copy.row(slot));
    }
  }
  return top.Take();
}

// A row's exact score in double precision: `v` is the row as the copy keeps it (normalised for cosine).
void ExactScore(VectorMetric metric, const std::vector<float>& q, const float* v, double& score, double& distance) {
  double dot = 0, diff2 = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    dot += static_cast<double>(q[i]) * v[i];
    const double d = static_cast<double>(q[i]) - v[i];
    diff2 += d * d;
  }
  switch (metric) {
    case VectorMetric::kCosine:
      score = dot;
      distance = 1 - dot;
      break;
    case VectorMetric::kDot:
      score = dot;
      distance = -dot;
      break;
    case VectorMetric::kL2:
      distance = std::sqrt(diff2);
      score = -distance;
      break;
  }
}

const char* VectorIdSql(EmbeddingTarget target) {
  return target == EmbeddingTarget::kMessages ? "SELECT 1 FROM message_embeddings WHERE id = ?1"
                                              : "SELECT 1 FROM conversation_embeddings WHERE id = ?1";
}

// Reads a hit's row into result.hits.
Status AppendHit(sqlite::Connection& conn, const SpaceRow& space, int64_t target_row, double score, double distance,
                 VectorSearchResult& result) {
  HitRow row;
  auto found = ReadHitRow(conn, TargetOf(space.spec.target), target_row, row);
  if (!found.ok()) return found.status();
  if (!*found)
    return Status::Corruption(fmt::format("a vector of space '{}' belongs to row {}, which is gone", space.spec.name,
                                          target_row));
  VectorHit hit;
  CopyHitRow(row, hit);
  hit.score = score;
  hit.distance = distance;
  result.hits.push_back(std::move(hit));
  return Status::OK();
}

const char* StreamSql(EmbeddingTarget target) {
  return target == EmbeddingTarget::kMessages
             ? "SELECT message_id, vector FROM message_embeddings WHERE space_id = ?1 ORDER BY id"
             : "SELECT conversation_id, vector FROM conversation_embeddings WHERE space_id = ?1 ORDER BY id";
}

}  // namespace

TextSearchTarget TargetOf(EmbeddingTarget target) {
  return target == EmbeddingTarget::kMessages ? TextSearchTarget::kMessages : TextSearchTarget::kConversations;
}

Status ValidateVectorQuery(const VectorSearchQuery& q) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(q.space, "space"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.k, 1, kMaxK, "k"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.rescore_factor, 1, kMaxRescoreFactor, "rescore_factor"));
  if (q.ef_search != 0) CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.ef_search, 1, kMaxIndexEf, "ef_search"));
  if (q.vector.empty()) return Status::InvalidArgument("the query vector is empty");
  for (size_t i = 0; i < q.vector.size(); ++i)
    if (!std::isfinite(q.vector[i])) return Status::InvalidArgument(fmt::format("vector[{}] is not a finite number", i));
  // Roles exist for messages only: checked against the space's target once it is known.
  return ValidateFilter(q.filter, TextSearchTarget::kMessages);
}

Result<VectorSearchResult> SearchCopy(sqlite::Connection& conn, VectorCopy& copy, const VectorSearchQuery& q,
                                      const RowPredicate& metadata, VectorIndex* index) {
  const SpaceRow& space = copy.space();
  const VectorMetric metric = space.spec.metric;
  CONVSTORE_RETURN_IF_ERROR(CheckVector(q.vector, space.spec, "the query vector"));
  CONVSTORE_RETURN_IF_ERROR(ValidateFilter(q.filter, TargetOf(space.spec.target)));
  CONVSTORE_RETURN_IF_ERROR(copy.Refresh(conn));
  const std::vector<float> query = PrepareQuery(metric, q.vector);

  VectorSearchResult result;
  const bool int8 = copy.has_int8();
  result.plan = int8 ? "exact int8 + rescore" : "exact";
  std::vector<uint32_t> slots;
  const bool filtered = Restricts(q.filter, metadata);
  if (filtered) {
    auto rows = RowsMatching(conn, TargetOf(space.spec.target), q.filter, metadata);
    if (!rows.ok()) return rows.status();
    for (int64_t row : *rows) {
      const int64_t slot = copy.SlotOf(row);
      if (slot >= 0) slots.push_back(static_cast<uint32_t>(slot));
    }
    std::sort(slots.begin(), slots.end());  // the copy's rows in memory order
    result.candidates = static_cast<int64_t>(slots.size());
  } else {
    result.candidates = static_cast<int64_t>(copy.live());
  }

  // The index takes in what the copy read since its last search, whether this search uses it or not.
  if (index != nullptr) CONVSTORE_RETURN_IF_ERROR(index->Sync(copy));
  bool approximate = index != nullptr && !filtered && !q.exact;
  if (approximate) result.plan = "hnsw";
  const int ef = q.ef_search > 0 ? q.ef_search : index != nullptr ? index->spec().ef_search : 0;

  const size_t want = static_cast<size_t>(q.k) + kMargin;
  std::vector<float> stored(copy.dimension());
  struct Scored {
    VectorCandidate c;
    double score, distance;
  };
  std::vector<Scored> kept;
  for (int round = 0;; ++round) {
    std::vector<VectorCandidate> found;
    if (approximate) {
      CONVSTORE_RETURN_IF_ERROR(index->Sync(copy));  // rows the previous round forgot
      auto near = index->Search(copy, query, want, ef);
      if (!near.ok()) return near.status();
      for (uint32_t slot : *near) found.push_back({slot, 0, copy.row(slot)});
    } else {
      found = int8 ? ScanInt8(copy, query, want * static_cast<size_t>(q.rescore_factor), filtered ? &slots : nullptr)
                   : ScanFloat32(copy, query, want, filtered ? &slots : nullptr);
    }
    // Exact scores of the candidates, best first (an int8 scan's order is approximate).
    std::vector<Scored> scored;
    bool forgot = false;
    for (const VectorCandidate& c : found) {
      const float* v = nullptr;
      if (copy.has_float32()) {
        v = copy.float32() + static_cast<size_t>(c.slot) * copy.dimension();
      } else {
        auto read = GetVector(conn, space, c.row);
        if (!read.ok()) return read.status();
        if (!*read) {
          copy.Forget(c.slot);
          forgot = true;
          continue;
        }
        stored = PrepareQuery(metric, **read);  // prepared as the copy keeps rows
        v = stored.data();
      }
      double score = 0, distance = 0;
      ExactScore(metric, query, v, score, distance);
      scored.push_back({c, score, distance});
    }
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
      if (a.score != b.score) return a.score > b.score;
      return a.c.row > b.c.row;
    });
    // The best k whose vector is still in this snapshot.
    kept.clear();
    for (const Scored& s : scored) {
      if (kept.size() == static_cast<size_t>(q.k)) break;
      auto present = conn.QueryInt(VectorIdSql(space.spec.target), "check a vector", copy.vector_id(s.c.slot));
      if (!present.ok()) return present.status();
      if (!*present) {
        copy.Forget(s.c.slot);
        forgot = true;
        continue;
      }
      kept.push_back(s);
    }
    const size_t available = filtered ? slots.size() : copy.live();
    const bool enough = kept.size() >= std::min<size_t>(static_cast<size_t>(q.k), available);
    if (approximate && !enough && !forgot) {
      // The graph gave too few live rows (many deleted around the query): this search scans.
      approximate = false;
      result.plan = int8 ? "exact int8 + rescore" : "exact";
      continue;
    }
    if (!forgot || enough || round >= 2) break;
    // Rows were deleted since the copy read them: forget all of them at once, then score again.
    if (round == 0) CONVSTORE_RETURN_IF_ERROR(copy.Sweep(conn));
    if (filtered) {
      std::vector<uint32_t> alive;
      for (uint32_t s : slots)
        if (copy.alive(s)) alive.push_back(s);
      slots.swap(alive);
    }
  }

  for (const Scored& s : kept) CONVSTORE_RETURN_IF_ERROR(AppendHit(conn, space, s.c.row, s.score, s.distance, result));
  return result;
}

Result<std::optional<IndexRecall>> MeasureIndexRecall(const VectorCopy& copy, VectorIndex& index, int queries) {
  constexpr size_t kK = 10;
  std::vector<uint32_t> live;
  for (uint32_t s = 0; s < copy.slots(); ++s)
    if (copy.alive(s)) live.push_back(s);
  if (live.size() <= kK || queries < 1) return std::optional<IndexRecall>();
  const size_t n = std::min(live.size(), static_cast<size_t>(queries));
  const size_t dim = copy.dimension();
  size_t found = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t self = live[i * live.size() / n];
    const std::vector<float> q(copy.float32() + static_cast<size_t>(self) * dim,
                               copy.float32() + static_cast<size_t>(self + 1) * dim);
    std::vector<uint32_t> truth;
    for (const VectorCandidate& c : ScanFloat32(copy, q, kK + 1, nullptr))
      if (c.slot != self && truth.size() < kK) truth.push_back(c.slot);
    auto near = index.Search(copy, q, kK + 1, index.spec().ef_search);
    if (!near.ok()) return near.status();
    size_t taken = 0;
    for (uint32_t slot : *near) {
      if (slot == self || taken == kK) continue;
      ++taken;
      if (std::find(truth.begin(), truth.end(), slot) != truth.end()) ++found;
    }
  }
  return std::optional<IndexRecall>(
      IndexRecall{static_cast<double>(found) / static_cast<double>(n * kK), static_cast<int>(n)});
}

Result<VectorSearchResult> SearchStreamed(sqlite::Connection& conn, const SpaceRow& space, const VectorSearchQuery& q,
                                          const RowPredicate& metadata) {
  const VectorMetric metric = space.spec.metric;
  const size_t dim = static_cast<size_t>(space.spec.dimension);
  CONVSTORE_RETURN_IF_ERROR(CheckVector(q.vector, space.spec, "the query vector"));
  CONVSTORE_RETURN_IF_ERROR(ValidateFilter(q.filter, TargetOf(space.spec.target)));
  const std::vector<float> query = PrepareQuery(metric, q.vector);
  VectorSearchResult result;
  result.plan = "exact (streamed)";
  std::vector<int64_t> allowed;
  const bool filtered = Restricts(q.filter, metadata);
  if (filtered) {
    auto rows = RowsMatching(conn, TargetOf(space.spec.target), q.filter, metadata);
    if (!rows.ok()) return rows.status();
    allowed = std::move(*rows);  // ascending
  }
  // Blocks of rows read, normalised as a copy keeps them, scored; the best k (+ margin) kept with their vectors.
  struct Kept {
    double score;
    int64_t row;
    std::vector<float> v;
  };
  std::vector<Kept> best;
  const size_t want = static_cast<size_t>(q.k) + kMargin;
  auto worse = [](const Kept& a, const Kept& b) { return a.score != b.score ? a.score > b.score : a.row > b.row; };
  std::vector<float> block(kBlock * dim), squared(kBlock);
  std::vector<int64_t> block_rows(kBlock);
  float out[kBlock];
  auto flush = [&](size_t n) {
    DotF32(query.data(), block.data(), dim, n, out);
    for (size_t i = 0; i < n; ++i) {
      const double score = RankScore(metric, out[i], squared[i]);
      if (best.size() == want && !worse(Kept{score, block_rows[i], {}}, best.front())) continue;
      best.push_back({score, block_rows[i], std::vector<float>(block.begin() + static_cast<std::ptrdiff_t>(i * dim),
                                                               block.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim))});
      std::push_heap(best.begin(), best.end(), worse);
      if (best.size() > want) {
        std::pop_heap(best.begin(), best.end(), worse);
        best.pop_back();
      }
    }
  };
  auto st = conn.Prepare(StreamSql(space.spec.target));
  if (!st.ok()) return st.status();
  st->Bind(1, space.id);
  size_t n = 0;
  int64_t candidates = 0;
  for (;;) {
    auto row = st->Step("read a space's vectors");
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!*row) break;
    const int64_t target_row = st->Int(0);
    if (filtered && !std::binary_search(allowed.begin(), allowed.end(), target_row)) continue;
    float* v = block.data() + n * dim;
    if (!DecodeVector(st->Blob(1), dim, v)) {
      st->Reset();
      return Status::Corruption(fmt::format("a vector of space '{}' is not {} finite float32 values", space.spec.name,
                                            dim));
    }
    squared[n] = static_cast<float>(PrepareVector(metric, v, dim));
    block_rows[n] = target_row;
    ++candidates;
    if (++n == kBlock) {
      flush(n);
      n = 0;
    }
  }
  st->Reset();
  if (n > 0) flush(n);
  result.candidates = candidates;
  std::vector<std::pair<double, std::pair<double, int64_t>>> scored;  // score, (distance, row)
  for (const Kept& k : best) {
    double score = 0, distance = 0;
    ExactScore(metric, query, k.v.data(), score, distance);
    scored.push_back({score, {distance, k.row}});
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second.second > b.second.second;
  });
  if (scored.size() > static_cast<size_t>(q.k)) scored.resize(static_cast<size_t>(q.k));
  for (const auto& [score, rest] : scored)
    CONVSTORE_RETURN_IF_ERROR(AppendHit(conn, space, rest.second, score, rest.first, result));
  return result;
}

}  // namespace convstore::search
