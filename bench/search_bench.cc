// Full-text search: what the index costs a writer, how fast it is built, and how fast a filtered top-10 comes
// back, each next to the raw-SQLite (bare FTS5) baseline of the same work in the same run.
//
//   build/bench/convstore_search_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//
// The corpus: messages of 20–60 words drawn from a 20,000-word vocabulary with Zipf frequencies (s = 1), like
// chat text, with the word "kubernetes" in exactly 1% of them. The 1M-message store (10,000 conversations of 100
// messages, 1,000 users with 10 conversations each) is built once through the API and kept under the bench data
// directory, with a copy beside it holding a bare FTS5 table of the same contents for the baselines.
#include <convstore/convstore.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"

namespace {

using convstore::ConversationStore;
using convstore::NewMessage;
using convstore::TextSearchQuery;

constexpr int kConversations = 10'000;
constexpr int kPerConversation = 100;
constexpr int kUsers = 1'000;
constexpr int kVocabulary = 20'000;
const char kRareTerm[] = "kubernetes";  // in message i when i % 100 == 37: 1% of the messages

// The vocabulary's words: pronounceable, 3–9 letters, distinct.
const std::vector<std::string>& Vocabulary() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> v;
    const char* consonants = "bcdfghjklmnprstvz";
    const char* vowels = "aeiou";
    std::mt19937 rng(7);
    for (int k = 0; k < kVocabulary; ++k) {
      std::string w;
      const int syllables = 1 + static_cast<int>(rng() % 3);
      for (int s = 0; s < syllables; ++s) {
        w += consonants[rng() % 17];
        w += vowels[rng() % 5];
        if (rng() % 2 == 0) w += consonants[rng() % 17];
      }
      v.push_back(w + std::to_string(k % 97));  // the suffix keeps them distinct
    }
    return v;
  }();
  return words;
}

// Message i's text: deterministic in i.
std::string Text(int i) {
  static const std::vector<double> cdf = [] {
    std::vector<double> c(kVocabulary);
    double sum = 0;
    for (int k = 0; k < kVocabulary; ++k) c[static_cast<size_t>(k)] = (sum += 1.0 / (k + 1));
    for (double& x : c) x /= sum;
    return c;
  }();
  std::mt19937 rng(static_cast<uint32_t>(i) * 2654435761u + 1);
  std::uniform_real_distribution<double> u(0, 1);
  const int n = 20 + static_cast<int>(rng() % 41);
  std::string text;
  for (int k = 0; k < n; ++k) {
    const auto at = std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin();
    if (!text.empty()) text += ' ';
    text += Vocabulary()[static_cast<size_t>(std::min<std::ptrdiff_t>(at, kVocabulary - 1))];
  }
  if (i % 100 == 37) text.insert(text.size() / 2, std::string(" ") + kRareTerm + " ");
  return text;
}

NewMessage TextMsg(int i) {
  NewMessage m = bench::Msg(i);
  m.content = Text(i);
  return m;
}

std::string UserKey(int u) { return "user" + std::to_string(u) + "@corp.example"; }

// The 1M-message store, indexed.
const std::string& Store1M() {
  static const std::string path = bench::BuiltOnce("search-1m.db", [](const std::string& building) {
    convstore::Options o;
    o.background_indexing = false;  // indexed once at the end
    auto store = bench::Must(ConversationStore::Open(building, o), "open the template");
    auto conversations = bench::MakeConversations(*store, kConversations, kUsers);
    std::vector<NewMessage> batch;
    for (int c = 0; c < kConversations; ++c) {
      batch.clear();
      for (int k = 0; k < kPerConversation; ++k) batch.push_back(TextMsg(c * kPerConversation + k));
      bench::Must(store->AddMessages(conversations[static_cast<size_t>(c)], batch), "add messages");
    }
    bench::Must(store->CatchUpSearchIndex(), "index the template");
    bench::Must(store->Close(), "close the template");
  });
  return path;
}

// The same file plus a bare FTS5 table of the messages' contents (the hand-rolled design's index).
const std::string& Bare1M() {
  static const std::string path = bench::BuiltOnce("search-1m-bare.db", [](const std::string& building) {
    const std::string copy = bench::FreshCopyOf(Store1M(), "search-1m-bare-copy.db");
    std::rename(copy.c_str(), building.c_str());
    sqlite3* db = bench::OpenRaw(building);
    bench::Exec(db, "CREATE VIRTUAL TABLE bare USING fts5(content, tokenize='unicode61 remove_diacritics 2');"
                    "INSERT INTO bare(rowid, content) SELECT id, content FROM messages;");
    sqlite3_close(db);
  });
  return path;
}

// ---- building the index over 1M messages ---------------------------------------------------------------------

// RebuildSearchIndex on a fresh copy of the store: empties the index and indexes every message and title again.
void BM_FtsRebuild1M(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Store1M(), "search-rebuild.db");
    convstore::Options o;
    o.background_indexing = false;
    auto store = bench::Must(ConversationStore::Open(path, o), "open");
    state.ResumeTiming();
    auto report = store->RebuildSearchIndex();
    if (!report.ok()) state.SkipWithError(report.status().ToString().c_str());
    state.PauseTiming();
    state.counters["rows"] = static_cast<double>(report.ok() ? report->rows_indexed : 0);
    (void)store->Close();
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kConversations * kPerConversation);
}
BENCHMARK(BM_FtsRebuild1M)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// The baseline: a bare FTS5 table (content only, same tokenizer) filled from the same file's messages in one
// transaction.
void BM_FtsBareBuild1M(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Store1M(), "search-bare-build.db");
    sqlite3* db = bench::OpenRaw(path);
    state.ResumeTiming();
    bench::Exec(db, "BEGIN; CREATE VIRTUAL TABLE bare USING fts5(content, tokenize='unicode61 remove_diacritics 2');"
                    "INSERT INTO bare(rowid, content) SELECT id, content FROM messages; COMMIT;");
    state.PauseTiming();
    sqlite3_close(db);
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kConversations * kPerConversation);
}
BENCHMARK(BM_FtsBareBuild1M)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// Deleting one user's 1,000 messages leaves their tokens in the index's older segments; PurgeSearchIndex merges
// until none is left (bounded steps, each its own transaction). Timed: the purge alone, on a fresh copy.
void BM_FtsPurgeAfterDelete1M(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Store1M(), "search-purge.db");
    convstore::Options o;
    o.background_indexing = false;
    auto store = bench::Must(ConversationStore::Open(path, o), "open");
    auto listed = bench::Must(store->ListConversations({.user_key = UserKey(0), .limit = 100}), "list");
    for (const auto& conv : listed.items) bench::Must(store->ClearMessages(conv.id), "clear");  // user 0's ten
    state.ResumeTiming();
    const auto started = std::chrono::steady_clock::now();
    auto report = store->PurgeSearchIndex();
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!report.ok()) state.SkipWithError(report.status().ToString().c_str());
    state.PauseTiming();
    state.counters["steps"] = static_cast<double>(report.ok() ? report->purge_steps : 0);
    state.counters["ms_per_step"] = report.ok() && report->purge_steps > 0 ? took * 1e3 / static_cast<double>(
                                                                                 report->purge_steps)
                                                                           : 0;
    (void)store->Close();
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_FtsPurgeAfterDelete1M)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// ---- top-10 at 1M messages -----------------------------------------------------------------------------------

ConversationStore& Searcher() {
  static std::unique_ptr<ConversationStore> store = [] {
    const std::string path = bench::FreshCopyOf(Store1M(), "search-query.db");
    return bench::Must(ConversationStore::Open(path), "open");
  }();
  return *store;
}

sqlite3* BareDb() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    if (sqlite3_open_v2(Bare1M().c_str(), &d, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) std::abort();
    return d;
  }();
  return db;
}

// Top 10 by bm25 for the 1% term, only one user's messages (about 10 of the 10,000 matches), with snippets.
void BM_FtsUserTop10(benchmark::State& state) {
  ConversationStore& store = Searcher();
  int u = 0;
  size_t hits = 0;
  for (auto _ : state) {
    TextSearchQuery q;
    q.text = kRareTerm;
    q.filter.user_key = UserKey(u++ % kUsers);
    q.limit = 10;
    auto r = store.SearchText(q);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    else hits += r->hits.size();
  }
  state.counters["hits"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FtsUserTop10)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The hand-rolled query: the bare FTS5 table joined to the rows, the user filtered after the match.
void BM_FtsBareUserTop10(benchmark::State& state) {
  sqlite3* db = BareDb();
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT m.uid, m.content, snippet(bare, 0, '[', ']', '…', 16), bm25(bare) AS score"
                     " FROM bare JOIN messages m ON m.id = bare.rowid JOIN conversations c ON c.id = m.conversation_id"
                     " JOIN users u ON u.id = c.user_id"
                     " WHERE bare MATCH ?1 AND u.key = ?2 ORDER BY score, m.id DESC LIMIT 10",
                     -1, &st, nullptr);
  int u = 0;
  size_t hits = 0;
  for (auto _ : state) {
    const std::string user = UserKey(u++ % kUsers);
    sqlite3_bind_text(st, 1, kRareTerm, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) ++hits;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  state.counters["hits"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FtsBareUserTop10)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Top 10 over everything (no filter) for the 1% term: 10,000 matches ranked.
void BM_FtsTop10(benchmark::State& state) {
  ConversationStore& store = Searcher();
  for (auto _ : state) {
    TextSearchQuery q;
    q.text = kRareTerm;
    q.limit = 10;
    auto r = store.SearchText(q);
    if (!r.ok() || r->hits.size() != 10) state.SkipWithError("search failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FtsTop10)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_FtsBareTop10(benchmark::State& state) {
  sqlite3* db = BareDb();
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT m.uid, m.content, snippet(bare, 0, '[', ']', '…', 16), bm25(bare) AS score"
                     " FROM bare JOIN messages m ON m.id = bare.rowid"
                     " WHERE bare MATCH ?1 ORDER BY score, m.id DESC LIMIT 10",
                     -1, &st, nullptr);
  for (auto _ : state) {
    sqlite3_bind_text(st, 1, kRareTerm, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) ++n;
    sqlite3_reset(st);
    if (n != 10) state.SkipWithError("bare search failed");
  }
  sqlite3_finalize(st);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FtsBareTop10)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

// ---- what the index costs a single add_message ----------------------------------------------------------------

// Single add_message calls of the corpus' text over 100 conversations: with the index kept (the default: indexed
// by the background indexer after commit) or with the tokenizer "none" (no index at all).
void AddSingles(benchmark::State& state, bool indexed) {
  const std::string path = bench::ScratchPath(indexed ? "fts-add-on.db" : "fts-add-off.db");
  {
    auto store = bench::Open(path);
    if (!indexed) bench::Must(store->SetTextTokenizer(convstore::TextTokenizer::kNone), "tokenizer none");
    auto convs = bench::MakeConversations(*store, 100, 10);
    std::vector<NewMessage> msgs;
    for (int k = 0; k < 64; ++k) msgs.push_back(TextMsg(k));
    size_t i = 0;
    for (auto _ : state) {
      auto r = store->AddMessage(convs[i % convs.size()], msgs[i % msgs.size()]);
      if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
      ++i;
    }
    state.SetItemsProcessed(state.iterations());
  }
  bench::RemoveDb(path);
}
void BM_FtsAddMessage(benchmark::State& state) { AddSingles(state, true); }
BENCHMARK(BM_FtsAddMessage)->MinTime(2.0)->UseRealTime();
void BM_FtsAddMessageNoIndex(benchmark::State& state) { AddSingles(state, false); }
BENCHMARK(BM_FtsAddMessageNoIndex)->MinTime(2.0)->UseRealTime();

// The whole work per message, indexing included: 100 single add_message calls, then the index caught up (what
// the background indexer does behind them), per iteration; with the tokenizer "none" for the baseline.
void AddHundredThenIndex(benchmark::State& state, bool indexed) {
  const std::string path = bench::ScratchPath(indexed ? "fts-amortised-on.db" : "fts-amortised-off.db");
  {
    convstore::Options o;
    o.background_indexing = false;
    auto store = bench::Must(ConversationStore::Open(path, o), "open");
    if (!indexed) bench::Must(store->SetTextTokenizer(convstore::TextTokenizer::kNone), "tokenizer none");
    auto convs = bench::MakeConversations(*store, 100, 10);
    std::vector<NewMessage> msgs;
    for (int k = 0; k < 64; ++k) msgs.push_back(TextMsg(k));
    size_t i = 0;
    for (auto _ : state) {
      for (int k = 0; k < 100; ++k, ++i) {
        auto r = store->AddMessage(convs[i % convs.size()], msgs[i % msgs.size()]);
        if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
      }
      auto caught = store->CatchUpSearchIndex();
      if (!caught.ok()) state.SkipWithError(caught.status().ToString().c_str());
    }
    state.SetItemsProcessed(state.iterations() * 100);
  }
  bench::RemoveDb(path);
}
void BM_FtsAdd100ThenIndex(benchmark::State& state) { AddHundredThenIndex(state, true); }
BENCHMARK(BM_FtsAdd100ThenIndex)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);
void BM_FtsAdd100NoIndex(benchmark::State& state) { AddHundredThenIndex(state, false); }
BENCHMARK(BM_FtsAdd100NoIndex)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);

// Why the index is not kept in the writer's transaction: a raw insert, alone or with the same text inserted into a
// bare FTS5 table in the same (autocommit) transaction.
void RawInserts(benchmark::State& state, bool with_fts) {
  bench::RawWriter raw(with_fts ? "fts-raw-on" : "fts-raw-off");
  bench::Exec(raw.db, "CREATE VIRTUAL TABLE bare USING fts5(content, tokenize='unicode61 remove_diacritics 2')");
  sqlite3_stmt* fts = nullptr;
  sqlite3_prepare_v2(raw.db, "INSERT INTO bare(rowid, content) VALUES (?1, ?2)", -1, &fts, nullptr);
  std::vector<std::string> texts;
  for (int k = 0; k < 64; ++k) texts.push_back(Text(k));
  int i = 0;
  for (auto _ : state) {
    if (!with_fts) {
      raw.Insert(i++);
      continue;
    }
    bench::Exec(raw.db, "BEGIN");
    raw.Insert(i);
    sqlite3_bind_int64(fts, 1, sqlite3_last_insert_rowid(raw.db));
    sqlite3_bind_text(fts, 2, texts[static_cast<size_t>(i % 64)].c_str(), -1, SQLITE_STATIC);
    if (sqlite3_step(fts) != SQLITE_DONE) state.SkipWithError(sqlite3_errmsg(raw.db));
    sqlite3_reset(fts);
    bench::Exec(raw.db, "COMMIT");
    ++i;
  }
  sqlite3_finalize(fts);
  state.SetItemsProcessed(state.iterations());
}
void BM_FtsRawInsert(benchmark::State& state) { RawInserts(state, false); }
BENCHMARK(BM_FtsRawInsert)->MinTime(2.0)->UseRealTime();
void BM_FtsRawInsertIndexedInTxn(benchmark::State& state) { RawInserts(state, true); }
BENCHMARK(BM_FtsRawInsertIndexedInTxn)->MinTime(2.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::RatioReporter reporter({
      {"BM_FtsRebuild1M", "BM_FtsBareBuild1M", "index build over 1M messages, rows/s ratio", true},
      {"BM_FtsUserTop10", "BM_FtsBareUserTop10", "top-10, 1% term, one user; target <= 5 ms absolute", false},
      {"BM_FtsTop10", "BM_FtsBareTop10", "top-10, 1% term, no filter", false},
      {"BM_FtsAddMessage", "BM_FtsAddMessageNoIndex", "single add_message, index on / none; target <= 1.20", false},
      {"BM_FtsAdd100ThenIndex", "BM_FtsAdd100NoIndex", "100 adds + indexing them / none: the whole work", false},
      {"BM_FtsRawInsertIndexedInTxn", "BM_FtsRawInsert", "raw insert + FTS5 insert in its transaction / alone", false},
  });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
