// The HNSW index (vector_index.h). hnswlib's header defines functions outside any namespace: this is the only file
// that includes it.
#include "search/vector_index.h"

#include <fmt/format.h>
// Without hnswlib's own SIMD: its distance functions are not used (ours are), and its prefetches read one link past
// the end of an upper layer's exactly-sized allocation while inserting (a heap overflow AddressSanitizer reports).
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "search/vector_kernels.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::search {

namespace {

// Distances of "smaller is closer" over the copy's prepared rows, with the exact search's SIMD loop. An L2 point
// carries its squared norm after its `dim` values.
struct DistanceParam {
  size_t dim;
};

float NegativeDot(const void* a, const void* b, const void* param) {
  float dot = 0;
  DotF32(static_cast<const float*>(a), static_cast<const float*>(b), static_cast<const DistanceParam*>(param)->dim, 1,
         &dot);
  return -dot;
}

float SquaredL2(const void* a, const void* b, const void* param) {
  const size_t dim = static_cast<const DistanceParam*>(param)->dim;
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  float dot = 0;
  DotF32(x, y, dim, 1, &dot);
  return x[dim] + y[dim] - 2 * dot;
}

class IndexSpace : public hnswlib::SpaceInterface<float> {
 public:
  IndexSpace(size_t dim, bool l2) : param_{dim}, l2_(l2) {}
  size_t get_data_size() override { return (param_.dim + (l2_ ? 1 : 0)) * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return l2_ ? SquaredL2 : NegativeDot; }
  void* get_dist_func_param() override { return &param_; }

 private:
  DistanceParam param_;
  bool l2_;
};

// Slots added per growth of the graph beyond what it holds, at least.
constexpr size_t kGrowth = 1024;
// Insertions shared among threads from this many on (fewer: the calling thread alone).
constexpr size_t kParallelFrom = 2048;

}  // namespace

Status ValidateIndexSpec(const VectorIndexSpec& spec) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(spec.m, kMinIndexM, kMaxIndexM, "m"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(spec.ef_construction, spec.m, kMaxIndexEf, "ef_construction"));
  return util::CheckRange(spec.ef_search, 1, kMaxIndexEf, "ef_search");
}

struct VectorIndex::Impl {
  Impl(size_t dimension, bool squared_l2) : dim(dimension), l2(squared_l2), space(dimension, squared_l2) {}
  size_t dim;
  bool l2;
  IndexSpace space;  // the graph keeps pointers into it: declared before, destroyed after
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  std::vector<uint8_t> in_graph;  // per slot: added and not marked deleted
  int64_t live = 0;

  // The point of `slot` as the graph stores it, in `buffer` when it needs the squared norm appended.
  const float* Point(const VectorCopy& copy, uint32_t slot, std::vector<float>& buffer) const {
    const float* row = copy.float32() + static_cast<size_t>(slot) * dim;
    if (!l2) return row;
    buffer.assign(row, row + dim);
    buffer.push_back(copy.squared_norms()[slot]);
    return buffer.data();
  }

  void Reserve(size_t slots) {
    if (slots > graph->max_elements_) graph->resizeIndex(std::max(slots, graph->max_elements_ + kGrowth) * 5 / 4);
    if (in_graph.size() < slots) in_graph.resize(slots, 0);
  }

  // Inserts (or updates) the live slots among `slots`, shared out among `threads` threads (hnswlib's insertions lock
  // what they touch); the first goes in alone when the graph is empty (it becomes the entry point). Returns the
  // first failure's message, or "".
  std::string Insert(const VectorCopy& copy, const std::vector<uint32_t>& slots, int threads) {
    std::atomic<size_t> next{0};
    std::atomic<int64_t> added{0};
    std::mutex failure_mu;
    std::string failure;
    auto work = [&](bool one) {
      std::vector<float> buffer;
      try {
        for (;;) {
          const size_t i = next.fetch_add(1);
          if (i >= slots.size()) return;
          const uint32_t slot = slots[i];
          if (!copy.alive(slot)) continue;
          graph->addPoint(Point(copy, slot, buffer), slot);
          if (!in_graph[slot]) {  // each slot is taken by one thread only (the list has no duplicates)
            in_graph[slot] = 1;
            added.fetch_add(1);
          }
          if (one) return;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(failure_mu);
        if (failure.empty()) failure = e.what();
        next.store(slots.size());
      }
    };
    if (graph->cur_element_count == 0) work(/*one=*/true);
    std::vector<std::thread> pool;
    const int extra = slots.size() >= kParallelFrom ? threads - 1 : 0;
    try {
      for (int t = 0; t < extra; ++t) pool.emplace_back(work, false);
    } catch (const std::exception&) {
      // Fewer threads than asked: this one does the rest with those that started.
    }
    work(false);
    for (std::thread& t : pool) t.join();
    live += added.load();
    return failure;
  }
};

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl, const VectorIndexSpec& spec, int threads)
    : impl_(std::move(impl)), spec_(spec), threads_(threads) {}

VectorIndex::~VectorIndex() = default;

int64_t VectorIndex::BytesFor(const SpaceRow& space, int64_t vectors, const VectorIndexSpec& spec) {
  const int64_t m = spec.m;
  const int64_t data = (space.spec.dimension + (space.spec.metric == VectorMetric::kL2 ? 1 : 0)) * 4;
  // Level 0: 2m links, a count and the label beside the data; a level, a lock, a pointer to the upper levels, a
  // map entry and a visited mark per element; upper levels for about 1 in m elements.
  const int64_t per = data + 2 * m * 4 + 4 + 8 + 4 + static_cast<int64_t>(sizeof(std::mutex)) + 8 + 48 + 2 +
                      (m * 4 + 4) / std::max<int64_t>(1, m - 1) + 1;
  return vectors * per;
}

int64_t VectorIndex::bytes() const {
  const auto& g = *impl_->graph;
  const size_t m = std::max<size_t>(2, g.M_);
  return static_cast<int64_t>(g.max_elements_ * (g.size_data_per_element_ + 4 + sizeof(std::mutex) + 8 + 2) +
                              g.label_lookup_.size() * 48 + g.cur_element_count * g.size_links_per_element_ / (m - 1) +
                              impl_->in_graph.capacity());
}

int64_t VectorIndex::indexed() const { return impl_->live; }

Result<std::unique_ptr<VectorIndex>> VectorIndex::Build(VectorCopy& copy, const VectorIndexSpec& spec, int threads) {
  CONVSTORE_RETURN_IF_ERROR(ValidateIndexSpec(spec));
  if (!copy.has_float32()) return Status::Internal("an index needs the copy's float32 rows");
  auto impl = std::make_unique<Impl>(copy.dimension(), copy.space().spec.metric == VectorMetric::kL2);
  std::vector<uint32_t> slots;
  slots.reserve(copy.live());
  for (uint32_t s = 0; s < copy.slots(); ++s)
    if (copy.alive(s)) slots.push_back(s);
  std::string failure;
  try {
    // A fixed seed: the same rows give the same graph (with one thread).
    impl->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &impl->space, std::max<size_t>(copy.slots(), kGrowth), static_cast<size_t>(spec.m),
        static_cast<size_t>(spec.ef_construction), /*random_seed=*/100);
    impl->in_graph.assign(std::max<size_t>(copy.slots(), kGrowth), 0);
    failure = impl->Insert(copy, slots, std::max(1, threads));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) return Status::Internal(fmt::format("building a vector index failed: {}", failure));
  copy.TrackChanges(true);
  (void)copy.TakeChanges();  // the build read the copy as it is now
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl), spec, std::max(1, threads)));
}

Status VectorIndex::Sync(VectorCopy& copy) {
  VectorCopy::Changes changes = copy.TakeChanges();
  if (changes.stored.empty() && changes.forgotten.empty()) return Status::OK();
  Impl& x = *impl_;
  std::string failure;
  try {
    x.Reserve(copy.slots());
    std::sort(changes.stored.begin(), changes.stored.end());  // a vector replaced twice: inserted once
    changes.stored.erase(std::unique(changes.stored.begin(), changes.stored.end()), changes.stored.end());
    failure = x.Insert(copy, changes.stored, threads_);
    for (uint32_t slot : changes.forgotten) {
      if (!failure.empty()) break;
      if (slot >= x.in_graph.size() || !x.in_graph[slot]) continue;
      x.graph->markDelete(slot);
      x.in_graph[slot] = 0;
      --x.live;
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // What was not taken in is lost to this index: the caller drops it and builds another.
  if (!failure.empty()) return Status::Internal(fmt::format("updating a vector index failed: {}", failure));
  return Status::OK();
}

Result<std::vector<uint32_t>> VectorIndex::Search(const VectorCopy& copy, const std::vector<float>& query,
                                                  size_t want, int ef) {
  Impl& x = *impl_;
  std::vector<float> q = query;
  if (x.l2) {
    double norm2 = 0;
    for (float v : query) norm2 += static_cast<double>(v) * v;
    q.push_back(static_cast<float>(norm2));
  }
  std::vector<uint32_t> slots;
  try {
    x.graph->setEf(std::max<size_t>(static_cast<size_t>(ef), want));
    auto found = x.graph->searchKnn(q.data(), want);
    slots.reserve(found.size());
    while (!found.empty()) {
      const auto slot = static_cast<uint32_t>(found.top().second);
      found.pop();
      if (slot < copy.slots() && copy.alive(slot)) slots.push_back(slot);
    }
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("searching a vector index failed: {}", e.what()));
  }
  std::reverse(slots.begin(), slots.end());  // closest first
  return slots;
}

}  // namespace convstore::search
