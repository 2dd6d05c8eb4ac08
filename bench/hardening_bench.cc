// Benchmarks of the hardening work, each next to a baseline from the same run:
//
//   * batch patterns and the pending cost rows: one add_message followed by N two-message add_messages (the
//     pattern that once stepped over every fold and left N x 2 rows pending), then a reservation (reserve +
//     release) and a 1-day cost summary — next to the same calls on a store written with large batches, which
//     leave nothing pending (the floor);
//   * oversized metadata documents: one user writes 20,000 documents beyond the indexing limit; another user's
//     conversation-scoped and user-scoped searches next to the same searches on a store without them, and an
//     unscoped search over them next to the json_extract scan a hand-rolled design runs on the same file;
//   * opening a store (the schema is compared with the migrations' on every open) next to a raw sqlite3_open
//     that reads the schema.
//
//   build/bench/convstore_hardening_bench
//   CONVSTORE_HARDENING_BATCHES=50000 CONVSTORE_HARDENING_OVERSIZED=20000 build/bench/convstore_hardening_bench
//
// Stores go under build/bench-data/ (or $CONVSTORE_BENCH_DIR) and are reused; a .complete marker tells a finished
// build from an interrupted one.
#include <convstore/convstore.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "bench_support.h"

namespace {

using convstore::ConversationStore;
using convstore::MetadataQuery;
using convstore::MetadataTarget;
using convstore::NewMessage;

constexpr int64_t kDay = 86'400'000'000;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoll(v) > 0 ? std::atoll(v) : fallback;
}

std::unique_ptr<ConversationStore> Open(const std::string& path, convstore::Options o = {}) {
  auto s = ConversationStore::Open(path, o);
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  return std::move(*s);
}

template <typename R>
void Check(const R& r, const char* what) {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.status().ToString());
}

bool Complete(const std::string& path) { return std::ifstream(path + ".complete").good(); }
void MarkComplete(const std::string& path) { std::ofstream(path + ".complete") << "ok\n"; }

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- batch patterns -------------------------------------------------------------------------------------------

// `pattern`: one single add_message, then `batches` add_messages of 2; otherwise the same messages in batches of
// 100 (counted straight into the rollups). A hard budget on the user either way.
std::string PendingStore(bool pattern) {
  const int64_t batches = EnvInt("CONVSTORE_HARDENING_BATCHES", 50'000);
  const std::string path = bench::DataDir() + "/hardening-" + (pattern ? "pairs" : "floor") + "-" +
                           std::to_string(batches) + ".db";
  if (Complete(path)) return path;
  bench::RemoveDb(path);
  auto s = Open(path);
  Check(s->UpsertUser({.key = "ana"}), "user");
  Check(s->SetBudget({.name = "ana-day", .scope = "user", .scope_key = "ana", .period = "day",
                      .hard_limit_nanousd = 1'000'000'000'000'000}),
        "budget");
  auto conv = s->CreateConversation({.user_key = "ana"});
  Check(conv, "conversation");
  const int64_t t0 = Now() - 3'600'000'000;
  auto msg = [&](int64_t i) {
    return NewMessage{.content = bench::Content(static_cast<int>(i)), .model = "m", .tokens_input = 100,
                      .tokens_output = 50, .cost_nanousd = 1000, .created_at = t0 + i};
  };
  Check(s->AddMessage(conv->id, msg(0)), "first message");
  std::vector<NewMessage> batch;
  const int64_t per = pattern ? 2 : 100;
  for (int64_t i = 1; i <= batches * 2; ++i) {
    batch.push_back(msg(i));
    if (static_cast<int64_t>(batch.size()) == per) {
      Check(s->AddMessages(conv->id, batch), "batch");
      batch.clear();
    }
  }
  if (!batch.empty()) Check(s->AddMessages(conv->id, batch), "batch");
  s.reset();
  MarkComplete(path);
  return path;
}

void ReserveRelease(benchmark::State& state, bool pattern) {
  const std::string path = PendingStore(pattern);
  auto s = Open(path);
  state.counters["pending_rows"] = static_cast<double>([&] {
    sqlite3* raw = bench::OpenRaw(path);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw,
                       "SELECT (SELECT count(*) FROM cost_pending) + (SELECT count(*) FROM messages"
                       " WHERE id > (SELECT messages_through FROM cost_fold))",
                       -1, &st, nullptr);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(raw);
    return n;
  }());
  const std::string prefix = "bench-" + std::to_string(Now()) + "-";
  int64_t i = 0;
  for (auto _ : state) {
    const std::string id = prefix + std::to_string(i++);
    auto r = s->Reserve({.request_id = id, .user_key = "ana", .estimated_cost_nanousd = 1000});
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    auto released = s->Release(id);
    if (!released.ok()) state.SkipWithError(released.status().ToString().c_str());
  }
}

void CostSummary(benchmark::State& state, bool pattern) {
  auto s = Open(PendingStore(pattern));
  for (auto _ : state) {
    auto r = s->GetCostSummary({.days = 1});
    if (!r.ok() || r->total_messages == 0) state.SkipWithError(r.ok() ? "empty" : r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
}

// ---- oversized metadata documents -----------------------------------------------------------------------------

// A document past the 512-posting limit (600 keys); k7 is 7.
std::string BigDoc(int64_t who) {
  std::string d = "{";
  for (int k = 0; k < 600; ++k) d += "\"k" + std::to_string(k) + "\":" + std::to_string(k) + ",";
  return d + "\"who\":" + std::to_string(who) + "}";
}

struct OversizedStore {
  std::string path, ana_conversation;
};

// `with_mallory`: mallory's `n` oversized messages, then ana's conversation of 20 small documents (half of them
// {"kind":"note","k7":7}); without: ana's conversation alone (the floor).
OversizedStore MakeOversized(bool with_mallory) {
  const int64_t n = EnvInt("CONVSTORE_HARDENING_OVERSIZED", 20'000);
  const std::string path =
      bench::DataDir() + "/hardening-oversized-" + (with_mallory ? std::to_string(n) : std::string("none")) + ".db";
  OversizedStore out{path, ""};
  if (!Complete(path)) {
    bench::RemoveDb(path);
    auto s = Open(path);
    const int64_t t0 = Now() - 10 * kDay;
    if (with_mallory) {
      auto mallory = s->CreateConversation({.user_key = "mallory"});
      Check(mallory, "conversation");
      std::vector<NewMessage> batch;
      for (int64_t i = 0; i < n; ++i) {
        batch.push_back({.content = "x", .metadata_json = BigDoc(i), .created_at = t0 + i});
        if (batch.size() == 100) {
          Check(s->AddMessages(mallory->id, batch), "oversized batch");
          batch.clear();
        }
      }
      if (!batch.empty()) Check(s->AddMessages(mallory->id, batch), "oversized batch");
    }
    auto ana = s->CreateConversation({.user_key = "ana", .title = "ana"});
    Check(ana, "conversation");
    for (int i = 0; i < 20; ++i)
      Check(s->AddMessage(ana->id, {.content = "y", .metadata_json = i % 2 ? R"({"kind":"note","k7":7})" : R"({"kind":"chat"})",
                                    .created_at = t0 + n + i}),
            "ana's message");
    s.reset();
    MarkComplete(path);
  }
  auto s = Open(path);
  auto page = s->ListConversations({.user_key = "ana"});
  Check(page, "list");
  out.ana_conversation = page->items.at(0).id;
  return out;
}

void ScopedSearch(benchmark::State& state, bool with_mallory, bool by_conversation) {
  const OversizedStore o = MakeOversized(with_mallory);
  auto s = Open(o.path);
  MetadataQuery q;
  q.target = MetadataTarget::kMessages;
  q.contains_json = R"({"kind":"note"})";
  if (by_conversation) q.conversation_id = o.ana_conversation;
  else q.user_key = "ana";
  int64_t checked = 0;
  for (auto _ : state) {
    auto r = s->SearchMetadata(q);
    if (!r.ok() || r->messages.size() != 10) state.SkipWithError(r.ok() ? "wrong count" : r.status().ToString().c_str());
    checked = r.ok() ? r->plan.unindexed_checked : -1;
    benchmark::DoNotOptimize(r);
  }
  state.counters["unindexed_checked"] = static_cast<double>(checked);
}

// An unscoped search whose condition no oversized document meets: every one in reach is checked, at most
// scan_limit per page (each page is one iteration).
void UnscopedOversizedSearch(benchmark::State& state, int64_t scan_limit) {
  const OversizedStore o = MakeOversized(true);
  auto s = Open(o.path);
  MetadataQuery q;
  q.target = MetadataTarget::kMessages;
  q.where_json = R"({"k7": {"$gt": 1000000}})";
  q.scan_limit = scan_limit;
  int64_t checked = 0;
  for (auto _ : state) {
    auto r = s->SearchMetadata(q);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    checked = r.ok() ? r->plan.unindexed_checked : -1;
    benchmark::DoNotOptimize(r);
  }
  state.counters["unindexed_checked"] = static_cast<double>(checked);
}

// What a hand-rolled design runs for the same question on the same file: json_extract over every message.
void RawJsonScan(benchmark::State& state) {
  const OversizedStore o = MakeOversized(true);
  sqlite3* db = bench::OpenRaw(o.path);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT id FROM messages WHERE json_extract(metadata, '$.k7') > 1000000"
                         " ORDER BY created_at DESC LIMIT 10",
                         -1, &st, nullptr) != SQLITE_OK)
    state.SkipWithError(sqlite3_errmsg(db));
  for (auto _ : state) {
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) ++rows;
    sqlite3_reset(st);
    benchmark::DoNotOptimize(rows);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// ---- what every read pays for its checks ---------------------------------------------------------------------

// An in-memory store (CPU only): get_conversation of 20 messages of ~200 bytes, each with a 5-key metadata document
// — every message's text and document is checked on its way out. Run against the library before the checks to see
// what they cost.
void GetConversationWithMetadata(benchmark::State& state) {
  auto s = Open(ConversationStore::kInMemory);
  auto conv = s->CreateConversation({.user_key = "ana", .metadata_json = R"({"source":"cli","team":"netops"})"});
  Check(conv, "conversation");
  for (int i = 0; i < 20; ++i)
    Check(s->AddMessage(conv->id, {.content = bench::Content(i),
                                   .metadata_json = R"({"tool":"bash","step":)" + std::to_string(i) +
                                                    R"(,"ok":true,"trace_id":"t-)" + std::to_string(i) +
                                                    R"(","source":"agent"})"}),
          "message");
  for (auto _ : state) {
    auto r = s->GetConversation(conv->id);
    if (!r.ok() || r->messages.size() != 20) state.SkipWithError("get_conversation");
    benchmark::DoNotOptimize(r);
  }
}

// ---- open ----------------------------------------------------------------------------------------------------

void OpenClose(benchmark::State& state) {
  const std::string path = PendingStore(false);
  for (auto _ : state) {
    auto s = Open(path);
    benchmark::DoNotOptimize(s);
  }
}

void RawOpenClose(benchmark::State& state) {
  const std::string path = PendingStore(false);
  for (auto _ : state) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM sqlite_schema", -1, &st, nullptr);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) ++rows;
    sqlite3_finalize(st);
    sqlite3_close(db);
    benchmark::DoNotOptimize(rows);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  auto us = [](benchmark::internal::Benchmark* b) { return b->UseRealTime()->Unit(benchmark::kMicrosecond); };
  us(benchmark::RegisterBenchmark("BM_ReserveRelease/pairs", [](benchmark::State& s) { ReserveRelease(s, true); }))
      ->MinTime(1.0);
  us(benchmark::RegisterBenchmark("BM_ReserveRelease/floor", [](benchmark::State& s) { ReserveRelease(s, false); }))
      ->MinTime(1.0);
  us(benchmark::RegisterBenchmark("BM_CostSummary1d/pairs", [](benchmark::State& s) { CostSummary(s, true); }))
      ->MinTime(1.0);
  us(benchmark::RegisterBenchmark("BM_CostSummary1d/floor", [](benchmark::State& s) { CostSummary(s, false); }))
      ->MinTime(1.0);
  for (bool by_conversation : {true, false}) {
    const std::string scope = by_conversation ? "conversation" : "user";
    us(benchmark::RegisterBenchmark(("BM_ScopedSearch/" + scope + "/oversized").c_str(),
                                    [=](benchmark::State& s) { ScopedSearch(s, true, by_conversation); }))
        ->MinTime(1.0);
    us(benchmark::RegisterBenchmark(("BM_ScopedSearch/" + scope + "/none").c_str(),
                                    [=](benchmark::State& s) { ScopedSearch(s, false, by_conversation); }))
        ->MinTime(1.0);
  }
  us(benchmark::RegisterBenchmark("BM_UnscopedOversized/scan_limit_1000",
                                  [](benchmark::State& s) { UnscopedOversizedSearch(s, 1000); }))
      ->MinTime(1.0);
  us(benchmark::RegisterBenchmark("BM_UnscopedOversized/scan_limit_default",
                                  [](benchmark::State& s) { UnscopedOversizedSearch(s, 100'000); }))
      ->Iterations(5);
  us(benchmark::RegisterBenchmark("BM_RawJsonExtractScan", [](benchmark::State& s) { RawJsonScan(s); }))
      ->Iterations(5);
  us(benchmark::RegisterBenchmark("BM_GetConversationWithMetadataInMemory",
                                  [](benchmark::State& s) { GetConversationWithMetadata(s); }))
      ->MinTime(1.0);
  us(benchmark::RegisterBenchmark("BM_Open", [](benchmark::State& s) { OpenClose(s); }))->MinTime(1.0);
  us(benchmark::RegisterBenchmark("BM_RawOpenReadSchema", [](benchmark::State& s) { RawOpenClose(s); }))
      ->MinTime(1.0);
  bench::RatioReporter reporter({
      {"BM_ReserveRelease/pairs", "BM_ReserveRelease/floor", "after 2-message batches vs nothing pending", false},
      {"BM_CostSummary1d/pairs", "BM_CostSummary1d/floor", "after 2-message batches vs nothing pending", false},
      {"BM_ScopedSearch/conversation/oversized", "BM_ScopedSearch/conversation/none",
       "another user's oversized documents present vs absent", false},
      {"BM_ScopedSearch/user/oversized", "BM_ScopedSearch/user/none",
       "another user's oversized documents present vs absent", false},
      {"BM_UnscopedOversized/scan_limit_default", "BM_RawJsonExtractScan",
       "every oversized document checked vs the json_extract scan", false},
      {"BM_Open", "BM_RawOpenReadSchema", "open (schema compared with the migrations') vs raw open", false},
  });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
