// Vector search, one thread: exact top-10 over 100k x 384 and 1M x 384 float32 vectors, int8 with rescoring, a
// 1%-selective filter, each next to (a) the memory-bandwidth floor measured in the same run — one pass of a plain
// dot-product loop (compiled for the widest SIMD the CPU has) over a contiguous array of the same vectors — and
// (b) what a hand-rolled design does: a brute-force scan of the BLOBs with a SQL distance function.
//
//   build/bench/convstore_vector_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//
// The data set, generated (nothing can be downloaded here): a mixture of 100 Gaussians in 384 dimensions — centres
// drawn from N(0, 1) per coordinate, each vector a centre plus N(0, 0.5²) noise — over 1,000,000 messages in
// 10,000 conversations of 100 (100 users with 100 conversations each: one user is 1% of the messages). Queries are
// fresh draws from the same mixture; recall@10 of int8 is also reported on uniform random vectors in [-1, 1]^384.
// The approximate index (HNSW, m 16, ef_construction 100) of f1m is searched at several candidate lists with its
// recall@10 against the exact scan, and one over 100,000 uniform random vectors (their own in-memory store).
// Spaces: f100k (the first 100,000 messages), f1m and i1m (int8), all cosine. Built once through the API and kept
// under the bench data directory.
#include <convstore/convstore.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"

namespace {

using convstore::ConversationStore;
using convstore::VectorSearchQuery;

constexpr int kDim = 384;
constexpr int kConversations = 10'000;
constexpr int kPerConversation = 100;
constexpr int kUsers = 100;
constexpr int kCentres = 100;
constexpr int64_t kMessages = int64_t{kConversations} * kPerConversation;

// Vector i of the data set (deterministic in i).
void DataVector(int64_t i, float* out) {
  static const std::vector<float> centres = [] {
    std::mt19937 rng(42);
    std::normal_distribution<float> n01(0, 1);
    std::vector<float> c(static_cast<size_t>(kCentres) * kDim);
    for (float& x : c) x = n01(rng);
    return c;
  }();
  std::mt19937 rng(static_cast<uint32_t>(i) * 2654435761u + 7);
  std::normal_distribution<float> noise(0, 0.5f);
  const size_t centre = rng() % kCentres;
  for (int d = 0; d < kDim; ++d) out[d] = centres[centre * kDim + static_cast<size_t>(d)] + noise(rng);
}

std::vector<float> MakeQuery(int i, bool uniform) {
  std::vector<float> q(kDim);
  if (uniform) {
    std::mt19937 rng(static_cast<uint32_t>(i) + 1000003u);
    std::uniform_real_distribution<float> u(-1, 1);
    for (float& x : q) x = u(rng);
  } else {
    DataVector(kMessages + 1'000'000 + i, q.data());  // a fresh draw from the mixture
  }
  return q;
}

// 50 queries of each kind, made once.
const std::vector<float>& Query(int i, bool uniform) {
  static const std::vector<std::vector<float>> mixture = [] {
    std::vector<std::vector<float>> v;
    for (int k = 0; k < 50; ++k) v.push_back(MakeQuery(k, false));
    return v;
  }();
  static const std::vector<std::vector<float>> random = [] {
    std::vector<std::vector<float>> v;
    for (int k = 0; k < 50; ++k) v.push_back(MakeQuery(k, true));
    return v;
  }();
  return (uniform ? random : mixture)[static_cast<size_t>(i % 50)];
}

std::string UserKey(int u) { return "user" + std::to_string(u) + "@corp.example"; }

const std::string& Store() {
  static const std::string path = bench::BuiltOnce("vectors-1m.db", [](const std::string& building) {
    convstore::Options o;
    o.background_indexing = false;
    auto store = bench::Must(ConversationStore::Open(building, o), "open");
    bench::Must(store->SetTextTokenizer(convstore::TextTokenizer::kNone), "no full-text index");
    for (const char* name : {"f100k", "f1m", "i1m"})
      bench::Must(store->CreateEmbeddingSpace(
                      {.name = name, .dimension = kDim,
                       .quantization = name[0] == 'i' ? convstore::VectorQuantization::kInt8
                                                      : convstore::VectorQuantization::kNone}),
                  "space");
    auto conversations = bench::MakeConversations(*store, kConversations, kUsers);
    std::vector<convstore::NewMessage> batch;
    std::vector<convstore::EmbeddingInput> vectors;
    int64_t i = 0;
    for (int c = 0; c < kConversations; ++c) {
      batch.assign(kPerConversation, bench::Msg(c));
      auto added = bench::Must(store->AddMessages(conversations[static_cast<size_t>(c)], batch), "add");
      for (const auto& m : added) {
        vectors.push_back({m.id, std::vector<float>(kDim)});
        DataVector(i++, vectors.back().vector.data());
      }
      if (vectors.size() >= 10'000 || c + 1 == kConversations) {
        if (i <= 100'000) bench::Must(store->PutEmbeddings("f100k", vectors), "put f100k");
        bench::Must(store->PutEmbeddings("f1m", vectors), "put f1m");
        bench::Must(store->PutEmbeddings("i1m", vectors), "put i1m");
        vectors.clear();
      }
    }
    bench::Must(store->Close(), "close");
  });
  return path;
}

ConversationStore& Searcher() {
  static std::unique_ptr<ConversationStore> store = bench::Must(ConversationStore::Open(Store()), "open");
  return *store;
}

// The same vectors, normalised (as cosine scores them), in one contiguous array: the floor's input.
const std::vector<float>& Contiguous() {
  static std::vector<float> all = [] {
    std::vector<float> v(static_cast<size_t>(kMessages) * kDim);
    for (int64_t i = 0; i < kMessages; ++i) {
      float* row = v.data() + i * kDim;
      DataVector(i, row);
      double norm = 0;
      for (int d = 0; d < kDim; ++d) norm += double{row[d]} * row[d];
      for (int d = 0; d < kDim; ++d) row[d] = static_cast<float>(row[d] / std::sqrt(norm));
    }
    return v;
  }();
  return all;
}

// The floor: one pass of a plain dot-product loop, vectorised by the compiler for the widest SIMD present.
__attribute__((target("avx2,fma"))) float FloorAvx2(const float* q, const float* v, int64_t n, float* best) {
  float top = -1e30f;
  for (int64_t r = 0; r < n; ++r) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int d = 0; d < kDim; ++d) s += q[d] * v[r * kDim + d];
    top = std::max(top, s);
  }
  *best = top;
  return top;
}
float FloorPortable(const float* q, const float* v, int64_t n, float* best) {
  float top = -1e30f;
  for (int64_t r = 0; r < n; ++r) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int d = 0; d < kDim; ++d) s += q[d] * v[r * kDim + d];
    top = std::max(top, s);
  }
  *best = top;
  return top;
}

void BM_DotProductFloor(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float>& v = Contiguous();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  int i = 0;
  float best = 0;
  for (auto _ : state) {
    const std::vector<float>& q = Query(i++, false);
    benchmark::DoNotOptimize(avx2 ? FloorAvx2(q.data(), v.data(), n, &best) : FloorPortable(q.data(), v.data(), n, &best));
  }
  state.SetBytesProcessed(state.iterations() * n * kDim * 4);
}
BENCHMARK(BM_DotProductFloor)->Arg(100'000)->Arg(1'000'000)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);

void Search(benchmark::State& state, const char* space, bool filtered) {
  ConversationStore& store = Searcher();
  (void)bench::Must(store.SearchVectors({.space = space, .vector = Query(0, false), .exact = true}),
                    "warm up (reads the copy)");
  int i = 0;
  int64_t candidates = 0;
  for (auto _ : state) {
    VectorSearchQuery q{.space = space, .vector = Query(i, false), .k = 10, .exact = true};
    if (filtered) q.filter.user_key = UserKey(i % kUsers);
    ++i;
    auto r = store.SearchVectors(q);
    if (!r.ok() || r->hits.size() != 10) state.SkipWithError("search failed");
    else candidates = r->candidates;
  }
  state.counters["candidates"] = static_cast<double>(candidates);
}

void BM_ExactF32(benchmark::State& state) { Search(state, state.range(0) == 100'000 ? "f100k" : "f1m", false); }
BENCHMARK(BM_ExactF32)->Arg(100'000)->Arg(1'000'000)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);
void BM_ExactInt8(benchmark::State& state) { Search(state, "i1m", false); }
BENCHMARK(BM_ExactInt8)->Arg(1'000'000)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);
void BM_FilteredOnePercent(benchmark::State& state) { Search(state, "f1m", true); }
BENCHMARK(BM_FilteredOnePercent)->Arg(1'000'000)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);

// Recall@10 of the int8 space against the exact one, on mixture queries and on uniform random ones.
void BM_Int8Recall(benchmark::State& state) {
  ConversationStore& store = Searcher();
  const bool uniform = state.range(0) == 1;
  double found = 0, wanted = 0;
  for (auto _ : state) {
    for (int i = 0; i < 50; ++i) {
      const std::vector<float>& q = Query(i, uniform);
      auto exact = store.SearchVectors({.space = "f1m", .vector = q, .k = 10, .exact = true});
      auto approx = store.SearchVectors({.space = "i1m", .vector = q, .k = 10, .exact = true});
      if (!exact.ok() || !approx.ok()) state.SkipWithError("search failed");
      std::set<std::string> truth;
      for (const auto& h : exact->hits) truth.insert(h.message_id);
      for (const auto& h : approx->hits) found += truth.count(h.message_id) ? 1 : 0;
      wanted += static_cast<double>(truth.size());
    }
  }
  state.counters["recall_at_10"] = found / wanted;
}
BENCHMARK(BM_Int8Recall)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kSecond);

// The approximate index (HNSW) of f1m, built by its own handle (its copy and graph beside the searcher's copies:
// each handle has its own memory budget), m 16, ef_construction 100; its build time, memory and self-measured
// recall are printed once.
constexpr convstore::VectorIndexSpec kIndexSpec{.m = 16, .ef_construction = 100, .ef_search = 64};

ConversationStore& Indexed() {
  static std::unique_ptr<ConversationStore> store = [] {
    auto s = bench::Must(ConversationStore::Open(Store()), "open");
    bench::Must(s->SetVectorMemoryBudget(int64_t{8} << 30), "budget");
    auto info = bench::Must(s->CreateVectorIndex("f1m", kIndexSpec), "build the index");
    std::fprintf(stderr, "hnsw f1m: %lld vectors, built in %.1f s (%d threads), %.0f MiB, recall@10 %.3f over %d\n",
                 static_cast<long long>(info.vectors), info.build_seconds, static_cast<int>(std::thread::hardware_concurrency()),
                 static_cast<double>(info.memory_bytes) / (1 << 20), info.recall_at_10, info.recall_queries);
    return s;
  }();
  return *store;
}

// The exact top 10 of each of the 50 queries of a kind, from the searcher's exact scan.
const std::vector<std::set<std::string>>& Truth(ConversationStore& store, const char* space, bool uniform) {
  static std::map<std::pair<std::string, bool>, std::vector<std::set<std::string>>> truths;
  auto& t = truths[{space, uniform}];
  if (t.empty())
    for (int i = 0; i < 50; ++i) {
      auto r = bench::Must(store.SearchVectors({.space = space, .vector = Query(i, uniform), .k = 10, .exact = true}),
                           "exact");
      t.emplace_back();
      for (const auto& h : r.hits) t.back().insert(h.message_id);
    }
  return t;
}

// Top-10 latency through the index at a candidate list of state.range(0), and recall@10 over the 50 queries.
void IndexSearch(benchmark::State& state, ConversationStore& store, const char* space, bool uniform) {
  const auto& truth = Truth(store, space, uniform);
  const int ef = static_cast<int>(state.range(0));
  int i = 0;
  double found = 0, wanted = 0;
  for (auto _ : state) {
    auto r = store.SearchVectors({.space = space, .vector = Query(i, uniform), .k = 10, .ef_search = ef});
    if (!r.ok() || r->hits.size() != 10 || r->plan != "hnsw") {
      state.SkipWithError("search failed");
      break;
    }
    for (const auto& h : r->hits) found += truth[static_cast<size_t>(i % 50)].count(h.message_id) ? 1 : 0;
    wanted += 10;
    ++i;
  }
  state.counters["recall_at_10"] = wanted > 0 ? found / wanted : 0;
}

void BM_HnswMixture(benchmark::State& state) { IndexSearch(state, Indexed(), "f1m", false); }
BENCHMARK(BM_HnswMixture)->Arg(16)->Arg(32)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->MinTime(1.0)->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
void BM_HnswUniformQueries(benchmark::State& state) { IndexSearch(state, Indexed(), "f1m", true); }
BENCHMARK(BM_HnswUniformQueries)->Arg(64)->Arg(256)->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Uniform random data: 100,000 vectors uniform in [-1, 1]^384 (no structure: the hard case for a graph index),
// queries uniform too, in an in-memory store of their own.
ConversationStore& Uniform() {
  static std::unique_ptr<ConversationStore> store = [] {
    convstore::Options o;
    o.background_indexing = false;
    auto s = bench::Must(ConversationStore::Open(ConversationStore::kInMemory, o), "open");
    bench::Must(s->SetTextTokenizer(convstore::TextTokenizer::kNone), "no full-text index");
    bench::Must(s->CreateEmbeddingSpace({.name = "u100k", .dimension = kDim}), "space");
    auto conversations = bench::MakeConversations(*s, 1000, kUsers);
    std::mt19937 rng(99);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int c = 0; c < 1000; ++c) {
      std::vector<convstore::NewMessage> batch(100, bench::Msg(c));
      auto added = bench::Must(s->AddMessages(conversations[static_cast<size_t>(c)], batch), "add");
      std::vector<convstore::EmbeddingInput> vectors;
      for (const auto& m : added) {
        vectors.push_back({m.id, std::vector<float>(kDim)});
        for (float& x : vectors.back().vector) x = u(rng);
      }
      bench::Must(s->PutEmbeddings("u100k", vectors), "put");
    }
    auto info = bench::Must(s->CreateVectorIndex("u100k", kIndexSpec), "build the index");
    std::fprintf(stderr, "hnsw u100k: %lld vectors, built in %.1f s, %.0f MiB, recall@10 %.3f over %d\n",
                 static_cast<long long>(info.vectors), info.build_seconds,
                 static_cast<double>(info.memory_bytes) / (1 << 20), info.recall_at_10, info.recall_queries);
    return s;
  }();
  return *store;
}

void BM_HnswUniformData(benchmark::State& state) { IndexSearch(state, Uniform(), "u100k", true); }
BENCHMARK(BM_HnswUniformData)->Arg(64)->Arg(256)->Arg(1024)->MinTime(1.0)->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
void BM_ExactUniformData(benchmark::State& state) {
  ConversationStore& store = Uniform();
  int i = 0;
  for (auto _ : state) {
    auto r = store.SearchVectors({.space = "u100k", .vector = Query(i++, true), .k = 10, .exact = true});
    if (!r.ok() || r->hits.size() != 10) state.SkipWithError("search failed");
  }
}
BENCHMARK(BM_ExactUniformData)->Arg(100'000)->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMillisecond);

// What a hand-rolled design does: every BLOB of the space through a SQL distance function, sorted.
void SqlDot(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* a = static_cast<const float*>(sqlite3_value_blob(argv[0]));
  const auto* b = static_cast<const float*>(sqlite3_value_blob(argv[1]));
  const int n = sqlite3_value_bytes(argv[0]) / 4;
  if (a == nullptr || b == nullptr || n != sqlite3_value_bytes(argv[1]) / 4) return sqlite3_result_null(ctx);
  double s = 0, na = 0, nb = 0;
  for (int i = 0; i < n; ++i) {
    s += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  sqlite3_result_double(ctx, s / std::sqrt(na * nb));
}

void BM_SqlBlobScan(benchmark::State& state) {
  const std::string space = state.range(0) == 100'000 ? "f100k" : "f1m";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(Store().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) std::abort();
  sqlite3_exec(db, "PRAGMA mmap_size=4294967296", nullptr, nullptr, nullptr);
  sqlite3_create_function(db, "cosine", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, SqlDot, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT e.message_id, cosine(e.vector, ?1) AS s FROM message_embeddings e"
                     " JOIN embedding_spaces p ON p.id = e.space_id WHERE p.name = ?2 ORDER BY s DESC LIMIT 10",
                     -1, &st, nullptr);
  int i = 0;
  for (auto _ : state) {
    const std::vector<float>& q = Query(i++, false);
    sqlite3_bind_blob(st, 1, q.data(), kDim * 4, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, space.c_str(), -1, SQLITE_TRANSIENT);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) ++rows;
    sqlite3_reset(st);
    if (rows != 10) state.SkipWithError("scan failed");
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}
BENCHMARK(BM_SqlBlobScan)->Arg(100'000)->Arg(1'000'000)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
