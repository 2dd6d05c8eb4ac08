// convstore microbenchmarks, each next to the raw-SQLite baseline of the same rows in the same binary and run.
//
//   build/bench/convstore_bench                       # all; ratios printed at the end
//   build/bench/convstore_bench --benchmark_filter=List
//
// Files live under build/bench-data/ (or $CONVSTORE_BENCH_DIR); the 100k-conversation store is built once and reused.
#include <algorithm>
#include <convstore/convstore.h>
#include <convstore/convstore.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "bench_support.h"

namespace {

using convstore::ConversationStore;
using convstore::NewMessage;
using bench::BindRaw;
using bench::MakeConversations;
using bench::Msg;
using bench::Open;
using bench::RawWriter;

// An agent's per-message metadata document as it reaches the store: compact, keys in order (what the C ABI
// hands on after parsing a request, and what a C++ caller printing it with nlohmann::json passes).
const char kAgentMetadata[] =
    R"({"attempt":1,"run":{"agent":"netops-triage","step":7},"source":"cli","tags":["bgp","prod"],)"
    R"("tool":"bgp_diff","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"})";

// ---- single insert, autocommit -----------------------------------------------------------------------------

// Pages a connection wrote to the WAL (or, in memory, to its cache) since the last call: SQLite's CACHE_WRITE.
int64_t TakePagesWritten(sqlite3* db) {
  int current = 0, high = 0;
  sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &current, &high, 1);
  return current;
}

// Raw autocommit inserts, one a call, on a RawWriter (in locking_mode=EXCLUSIVE when `exclusive`).
void RawSingles(benchmark::State& state, const std::string& name, bool exclusive) {
  RawWriter raw(name, exclusive);
  int i = 0;
  TakePagesWritten(raw.db);
  for (auto _ : state) raw.Insert(i++);
  state.SetItemsProcessed(state.iterations());
  state.counters["wal_pages_per_call"] =
      static_cast<double>(TakePagesWritten(raw.db)) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

void BM_RawInsertAutocommit(benchmark::State& state) { RawSingles(state, "raw-single", false); }
BENCHMARK(BM_RawInsertAutocommit)->MinTime(2.0)->UseRealTime();

// The same in locking_mode=EXCLUSIVE (the WAL without its -shm file): the baseline of BM_AddMessageExclusive.
void BM_RawInsertAutocommitExclusive(benchmark::State& state) { RawSingles(state, "raw-single-exclusive", true); }
BENCHMARK(BM_RawInsertAutocommitExclusive)->MinTime(2.0)->UseRealTime();

// Single add_message calls spread over 100 conversations, cycling through 16 messages (carrying `metadata` when it
// is not empty). The store is closed on return.
void AddSingles(benchmark::State& state, const std::string& path, const char* metadata,
                const convstore::Options& options = {}) {
  auto store = Open(path, options);
  auto convs = MakeConversations(*store, 100, 10);
  std::vector<NewMessage> msgs;
  for (int k = 0; k < 16; ++k) {
    msgs.push_back(Msg(k));
    if (*metadata != '\0') msgs.back().metadata_json = metadata;
  }
  size_t i = 0;
  (void)store->ResetStats();
  for (auto _ : state) {
    auto r = store->AddMessage(convs[i % convs.size()], msgs[i % msgs.size()]);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  // Every page the calls wrote, the full-text index's included (indexed behind them: caught up first).
  (void)store->CatchUpSearchIndex();
  if (auto stats = store->Stats({.saved = false}); stats.ok())
    state.counters["wal_pages_per_call"] =
        static_cast<double>(stats->cache_writes) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

void BM_AddMessage(benchmark::State& state) {
  std::string path = bench::ScratchPath("add-single");
  AddSingles(state, path, "");
  bench::RemoveDb(path);
}
BENCHMARK(BM_AddMessage)->MinTime(2.0)->UseRealTime();

// The same with Options::exclusive: the handle holds the file alone, its WAL without a -shm file.
void BM_AddMessageExclusive(benchmark::State& state) {
  std::string path = bench::ScratchPath("add-single-exclusive");
  convstore::Options options;
  options.exclusive = true;
  AddSingles(state, path, "", options);
  bench::RemoveDb(path);
}
BENCHMARK(BM_AddMessageExclusive)->MinTime(2.0)->UseRealTime();

// The same on an in-memory store: the CPU cost of a write with no I/O at all.
void BM_AddMessageInMemory(benchmark::State& state) {
  auto store = Open(ConversationStore::kInMemory);
  auto convs = MakeConversations(*store, 100, 10);
  NewMessage m = Msg(1);
  size_t i = 0;
  for (auto _ : state) {
    auto r = store->AddMessage(convs[i++ % convs.size()], m);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddMessageInMemory)->MinTime(1.0)->UseRealTime();

// ---- single insert with an agent's metadata document: C++ API, C ABI (what Python calls), raw baseline ------

void BM_RawInsertMetadata(benchmark::State& state) {
  RawWriter raw("raw-single-metadata");
  int i = 0;
  for (auto _ : state) raw.Insert(i++, kAgentMetadata);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawInsertMetadata)->MinTime(2.0)->UseRealTime();

void BM_AddMessageMetadata(benchmark::State& state) {
  std::string path = bench::ScratchPath("add-single-metadata");
  AddSingles(state, path, kAgentMetadata);
  bench::RemoveDb(path);
}
BENCHMARK(BM_AddMessageMetadata)->MinTime(2.0)->UseRealTime();

void BM_AddMessageMetadataInMemory(benchmark::State& state) {
  AddSingles(state, ConversationStore::kInMemory, kAgentMetadata);
}
BENCHMARK(BM_AddMessageMetadataInMemory)->MinTime(1.0)->UseRealTime();

// convstore_add_message with the request JSON a binding sends (Python's Store.add_message builds this text).
void CAbiAddMessageMetadata(benchmark::State& state, const char* path) {
  convstore_t* db = nullptr;
  char* err = nullptr;
  if (convstore_open(path, nullptr, &db, &err) != CONVSTORE_OK) {
    state.SkipWithError(err ? err : "open");
    convstore_free(err);
    return;
  }
  std::vector<std::string> convs;
  for (int k = 0; k < 100; ++k) {
    char* out = nullptr;
    std::string req = R"({"user":"user)" + std::to_string(k % 10) + R"(@corp.example","title":"Conversation )" +
                      std::to_string(k) + R"(","metadata":{"source":"cli","team":"netops"}})";
    if (convstore_create_conversation(db, req.c_str(), &out, nullptr) != CONVSTORE_OK) {
      state.SkipWithError("create conversation");
      convstore_close(db);
      return;
    }
    std::string json(out);
    convstore_free(out);
    auto at = json.find("\"id\":\"") + 6;
    convs.push_back(json.substr(at, 36));
  }
  std::vector<std::string> requests;
  for (int k = 0; k < 16; ++k)
    requests.push_back(std::string(R"({"role":")") + (k % 2 ? "assistant" : "user") + R"(","content":")" +
                       bench::Content(k) +
                       R"(","model":"claude-sonnet-4-5","tokens_input":1250,"tokens_output":890,)"
                       R"("cost_nanousd":15000000,"metadata":{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", )"
                       R"("source": "cli", "tool": "bgp_diff", "tags": ["bgp", "prod"], "attempt": 1, )"
                       R"("run": {"agent": "netops-triage", "step": 7}}})");
  size_t i = 0;
  for (auto _ : state) {
    char* e = nullptr;
    if (convstore_add_message(db, convs[i % convs.size()].c_str(), requests[i % requests.size()].c_str(), nullptr,
                              &e) != CONVSTORE_OK) {
      state.SkipWithError(e ? e : "add_message");
      convstore_free(e);
      break;
    }
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  convstore_close(db);
}

void BM_CAbiAddMessageMetadata(benchmark::State& state) {
  std::string path = bench::ScratchPath("cabi-single-metadata");
  CAbiAddMessageMetadata(state, path.c_str());
  bench::RemoveDb(path);
}
BENCHMARK(BM_CAbiAddMessageMetadata)->MinTime(2.0)->UseRealTime();

void BM_CAbiAddMessageMetadataInMemory(benchmark::State& state) { CAbiAddMessageMetadata(state, ":memory:"); }
BENCHMARK(BM_CAbiAddMessageMetadataInMemory)->MinTime(1.0)->UseRealTime();

// The plain message (model, tokens, cost; no metadata) through the C ABI on an in-memory store, as JSON
// (convstore_add_message, with the output JSON a binding parses) and as scalars (convstore_append_message): the
// ABI's own cost with no I/O.
void CAbiPlain(benchmark::State& state, bool scalar) {
  convstore_t* db = nullptr;
  if (convstore_open(":memory:", nullptr, &db, nullptr) != CONVSTORE_OK) {
    state.SkipWithError("open");
    return;
  }
  char* out = nullptr;
  if (convstore_create_conversation(db, R"({"user":"user@corp.example","title":"plain"})", &out, nullptr) !=
      CONVSTORE_OK) {
    state.SkipWithError("create conversation");
    convstore_close(db);
    return;
  }
  const std::string json(out);
  convstore_free(out);
  const std::string conv = json.substr(json.find("\"id\":\"") + 6, 36);
  const std::string content = bench::Content(1);
  const std::string request = R"({"role":"assistant","content":")" + content +
                              R"(","model":"claude-sonnet-4-5","tokens_input":1250,"tokens_output":890,)"
                              R"("cost_nanousd":15000000})";
  for (auto _ : state) {
    int rc;
    if (scalar) {
      char id[CONVSTORE_ID_SIZE];
      int64_t position = 0, cost = 0, price = 0, created = 0;
      rc = convstore_append_message(db, conv.c_str(), "assistant", content.data(),
                                    static_cast<int64_t>(content.size()), "claude-sonnet-4-5", 1250, 890, 15000000,
                                    CONVSTORE_UNSET, id, &position, &cost, &price, &created, nullptr);
    } else {
      rc = convstore_add_message(db, conv.c_str(), request.c_str(), &out, nullptr);
      convstore_free(out);
    }
    if (rc != CONVSTORE_OK) {
      state.SkipWithError("add");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  convstore_close(db);
}
void BM_CAbiAddMessageJsonInMemory(benchmark::State& state) { CAbiPlain(state, false); }
BENCHMARK(BM_CAbiAddMessageJsonInMemory)->MinTime(1.0)->UseRealTime();
void BM_CAbiAppendMessageInMemory(benchmark::State& state) { CAbiPlain(state, true); }
BENCHMARK(BM_CAbiAppendMessageInMemory)->MinTime(1.0)->UseRealTime();

// Eight threads adding single messages on one handle: concurrent writes are group-committed.
struct SharedStore {
  std::string path;
  std::unique_ptr<ConversationStore> store;
  std::vector<std::string> convs;
};
SharedStore* shared_store = nullptr;

void BM_AddMessageConcurrent(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared_store = new SharedStore;
    shared_store->path = bench::ScratchPath("add-concurrent");
    shared_store->store = Open(shared_store->path);
    shared_store->convs = MakeConversations(*shared_store->store, 8, 8);  // one agent conversation per thread
  }
  // Google Benchmark starts the timed loop of all threads together, after thread 0's setup above.
  const size_t mine = static_cast<size_t>(state.thread_index()) % 8;
  NewMessage m = Msg(state.thread_index());
  for (auto _ : state) {
    auto r = shared_store->store->AddMessage(shared_store->convs[mine], m);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {  // every thread has left the timed loop (Google Benchmark joins them there)
    shared_store->store.reset();
    bench::RemoveDb(shared_store->path);
    delete shared_store;
    shared_store = nullptr;
  }
}
BENCHMARK(BM_AddMessageConcurrent)->Threads(8)->MinTime(2.0)->UseRealTime();

// ---- batch of 1000 -----------------------------------------------------------------------------------------

void BM_RawInsertBatch1000(benchmark::State& state) {
  RawWriter raw("raw-batch");
  int i = 0;
  for (auto _ : state) {
    bench::Exec(raw.db, "BEGIN");
    for (int k = 0; k < 1000; ++k) raw.Insert(i++);
    bench::Exec(raw.db, "COMMIT");
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_RawInsertBatch1000)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_AddMessagesBatch1000(benchmark::State& state) {
  std::string path = bench::ScratchPath("add-batch");
  auto store = Open(path);
  auto convs = MakeConversations(*store, 100, 10);
  std::vector<NewMessage> batch;
  for (int k = 0; k < 1000; ++k) batch.push_back(Msg(k));
  size_t i = 0;
  for (auto _ : state) {
    auto r = store->AddMessages(convs[i++ % convs.size()], batch);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  store.reset();
  bench::RemoveDb(path);
}
BENCHMARK(BM_AddMessagesBatch1000)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- get_conversation with 20 messages ---------------------------------------------------------------------

struct TwentyStore {
  std::string path;
  std::vector<std::string> ids;
  std::unique_ptr<ConversationStore> store;
  static TwentyStore& Get() {
    static TwentyStore s = [] {
      TwentyStore t;
      t.path = bench::DataDir() + "/get20-1000x20.db";
      bench::RemoveDb(t.path);
      t.store = Open(t.path);
      t.ids = MakeConversations(*t.store, 1000, 50);
      std::vector<NewMessage> batch;
      for (int k = 0; k < 20; ++k) batch.push_back(Msg(k));
      for (auto& id : t.ids)
        if (!t.store->AddMessages(id, batch).ok()) throw std::runtime_error("build get20 store");
      return t;
    }();
    return s;
  }
};

struct RawMessage {  // what a hand-rolled reader materialises per row
  std::string uid, role, content, model, model_version, metadata;
  int64_t position, tokens_input, tokens_output, cost, created_at;
};

std::string Col(sqlite3_stmt* st, int c) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, c))) : std::string();
}

// The columns a hand-rolled reader selects, in the order ReadRawMessage reads them (content is column 3).
#define RAW_MESSAGE_COLUMNS \
  "uid, position, role, content, model, model_version, tokens_input, tokens_output, cost_nanousd, metadata, created_at"

RawMessage ReadRawMessage(sqlite3_stmt* st) {
  return {Col(st, 0), Col(st, 2), Col(st, 3), Col(st, 4), Col(st, 5), Col(st, 9),
          sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7),
          sqlite3_column_int64(st, 8), sqlite3_column_int64(st, 10)};
}

void BM_RawSelect20(benchmark::State& state) {
  auto& t = TwentyStore::Get();
  sqlite3* db = bench::OpenRaw(t.path);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT " RAW_MESSAGE_COLUMNS " FROM messages WHERE conversation_id = ?1 ORDER BY position",
                     -1, &st, nullptr);
  std::mt19937 rng(1);
  for (auto _ : state) {
    sqlite3_bind_int64(st, 1, static_cast<int64_t>(rng() % t.ids.size()) + 1);
    std::vector<RawMessage> rows;
    while (sqlite3_step(st) == SQLITE_ROW) {
      rows.push_back(ReadRawMessage(st));
    }
    sqlite3_reset(st);
    if (rows.size() != 20) state.SkipWithError("expected 20 rows");
    benchmark::DoNotOptimize(rows);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}
BENCHMARK(BM_RawSelect20)->MinTime(1.0)->UseRealTime();

void BM_GetConversation20(benchmark::State& state) {
  auto& t = TwentyStore::Get();
  std::mt19937 rng(1);
  for (auto _ : state) {
    auto r = t.store->GetConversation(t.ids[rng() % t.ids.size()]);
    if (!r.ok() || r->messages.size() != 20) state.SkipWithError("get_conversation");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_GetConversation20)->MinTime(1.0)->UseRealTime();

// ---- context windows of a 1,000-message conversation ------------------------------------------------------------
// An agent transcript: a system prompt, then turns of user question, assistant tool call, tool output (some large),
// assistant answer; each message ~400 bytes (≈100 tokens by estimate), every 25th tool output 20 kB. The window
// is 8,000 tokens. The baseline is what a hand-rolled trim does on raw SQLite: read full rows newest first, sum
// ⌈bytes/4⌉, stop at the first that does not fit.

struct ThousandStore {
  std::string path;
  std::string id;
  std::unique_ptr<ConversationStore> store;
  static ThousandStore& Get() {
    static ThousandStore s = [] {
      ThousandStore t;
      t.path = bench::DataDir() + "/context-1x1000.db";
      bench::RemoveDb(t.path);
      t.store = Open(t.path);
      auto c = t.store->CreateConversation({.user_key = "agent@corp.example", .system_prompt = bench::Content(0)});
      if (!c.ok()) throw std::runtime_error(c.status().ToString());
      t.id = c->id;
      std::vector<NewMessage> batch;
      for (int i = 0; i < 1000; ++i) {
        NewMessage m;
        const int k = i % 4;
        m.role = k == 0 ? convstore::Role::kUser : k == 2 ? convstore::Role::kTool : convstore::Role::kAssistant;
        m.content = k == 2 && i % 100 == 2 ? std::string(20000, 'o') : bench::Content(i);
        batch.push_back(std::move(m));
      }
      if (!t.store->AddMessages(t.id, batch).ok()) throw std::runtime_error("build context store");
      return t;
    }();
    return s;
  }
};
constexpr int64_t kWindowTokens = 8000;

void BM_RawTrimNewestFirst1000(benchmark::State& state) {
  auto& t = ThousandStore::Get();
  sqlite3* db = bench::OpenRaw(t.path);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT " RAW_MESSAGE_COLUMNS " FROM messages WHERE conversation_id = 1 "
                     "ORDER BY position DESC",
                     -1, &st, nullptr);
  size_t n = 0;
  for (auto _ : state) {
    std::vector<RawMessage> rows;
    int64_t used = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      const int64_t tokens = (sqlite3_column_bytes(st, 3) + 3) / 4;
      if (tokens > kWindowTokens - used) break;
      used += tokens;
      rows.push_back(ReadRawMessage(st));
    }
    sqlite3_reset(st);
    std::reverse(rows.begin(), rows.end());
    n = rows.size();
    benchmark::DoNotOptimize(rows);
  }
  state.counters["messages"] = static_cast<double>(n);
  sqlite3_finalize(st);
  sqlite3_close(db);
}
BENCHMARK(BM_RawTrimNewestFirst1000)->MinTime(1.0)->UseRealTime();

void BM_GetContext1000(benchmark::State& state) {
  auto& t = ThousandStore::Get();
  const auto overflow = state.range(0) ? convstore::ContextOverflow::kSkip : convstore::ContextOverflow::kStop;
  size_t n = 0;
  for (auto _ : state) {
    auto r = t.store->GetContext(t.id, {.max_tokens = kWindowTokens, .overflow = overflow});
    if (!r.ok()) state.SkipWithError("get_context");
    n = r->size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["messages"] = static_cast<double>(n);
}
BENCHMARK(BM_GetContext1000)->Arg(0)->Arg(1)->ArgName("skip")->MinTime(1.0)->UseRealTime();

void BM_RawSelectLast20(benchmark::State& state) {
  auto& t = ThousandStore::Get();
  sqlite3* db = bench::OpenRaw(t.path);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT " RAW_MESSAGE_COLUMNS " FROM messages WHERE conversation_id = 1 "
                     "ORDER BY position DESC LIMIT 20",
                     -1, &st, nullptr);
  for (auto _ : state) {
    std::vector<RawMessage> rows;
    while (sqlite3_step(st) == SQLITE_ROW)
      rows.push_back(ReadRawMessage(st));
    sqlite3_reset(st);
    std::reverse(rows.begin(), rows.end());
    if (rows.size() != 20) state.SkipWithError("expected 20 rows");
    benchmark::DoNotOptimize(rows);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}
BENCHMARK(BM_RawSelectLast20)->MinTime(1.0)->UseRealTime();

void BM_GetLastMessages20(benchmark::State& state) {
  auto& t = ThousandStore::Get();
  for (auto _ : state) {
    auto r = t.store->GetLastMessages(t.id, 20);
    if (!r.ok() || r->size() != 20) state.SkipWithError("get_last_messages");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_GetLastMessages20)->MinTime(1.0)->UseRealTime();

// ---- list a user's 10 newest conversations: 100k conversations, 1M messages --------------------------------

constexpr int kListUsers = 1000, kListConversations = 100'000, kListMessagesPer = 10;

struct ListStore {
  std::string path;
  std::unique_ptr<ConversationStore> store;
  static ListStore& Get() {
    static ListStore s = [] {
      ListStore l;
      l.path = bench::DataDir() + "/list-100k-1m.db";
      std::string done = l.path + ".complete";
      if (!std::filesystem::exists(done)) {
        bench::RemoveDb(l.path);
        std::fprintf(stderr, "building %s (100k conversations, 1M messages; reused by later runs)...\n",
                     l.path.c_str());
        auto store = Open(l.path);
        auto ids = MakeConversations(*store, kListConversations, kListUsers);
        std::vector<NewMessage> batch;
        for (int k = 0; k < kListMessagesPer; ++k) batch.push_back(Msg(k));
        for (auto& id : ids)
          if (!store->AddMessages(id, batch).ok()) throw std::runtime_error("build list store");
        store.reset();
        std::ofstream(done) << "ok\n";
      }
      l.store = Open(l.path);
      return l;
    }();
    return s;
  }
};

void BM_ListConversations10(benchmark::State& state) {
  auto& l = ListStore::Get();
  std::mt19937 rng(7);
  convstore::ListConversationsOptions q;
  q.limit = 10;
  for (auto _ : state) {
    q.user_key = "user" + std::to_string(rng() % kListUsers) + "@corp.example";
    auto r = l.store->ListConversations(q);
    if (!r.ok() || r->items.size() != 10) state.SkipWithError("list");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ListConversations10)->MinTime(1.0)->UseRealTime();

// The same 10 rows read with a raw indexed SELECT (the floor), and the chapter's V1 query (COUNT/SUM over a
// LEFT JOIN of all the user's messages, GROUP BY, ORDER BY) on the same file.
void RawList(benchmark::State& state, const char* sql) {
  auto& l = ListStore::Get();
  sqlite3* db = bench::OpenRaw(l.path);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) state.SkipWithError(sqlite3_errmsg(db));
  std::mt19937 rng(7);
  for (auto _ : state) {
    sqlite3_bind_int64(st, 1, static_cast<int64_t>(rng() % kListUsers) + 1);
    std::vector<std::pair<std::string, int64_t>> rows;
    while (sqlite3_step(st) == SQLITE_ROW) rows.emplace_back(Col(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_reset(st);
    if (rows.size() != 10) state.SkipWithError("expected 10 rows");
    benchmark::DoNotOptimize(rows);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

void BM_RawListIndexed10(benchmark::State& state) {
  RawList(state,
          "SELECT title, message_count, uid, updated_at, metadata FROM conversations "
          "WHERE user_id = ?1 AND archived = 0 ORDER BY updated_at DESC LIMIT 10");
}
BENCHMARK(BM_RawListIndexed10)->MinTime(1.0)->UseRealTime();

void BM_RawListChapterV1Join10(benchmark::State& state) {
  RawList(state,
          "SELECT c.title, COUNT(m.id) AS message_count, SUM(m.cost_nanousd) AS total_cost "
          "FROM conversations c LEFT JOIN messages m ON c.id = m.conversation_id "
          "WHERE c.user_id = ?1 AND c.archived = 0 GROUP BY c.id ORDER BY c.updated_at DESC LIMIT 10");
}
BENCHMARK(BM_RawListChapterV1Join10)->MinTime(1.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::RatioReporter reporter({
      {"BM_AddMessage", "BM_RawInsertAutocommit", "throughput ratio, target >= 0.50", true},
      {"BM_AddMessageExclusive", "BM_RawInsertAutocommit", "exclusive vs raw shared, throughput ratio, target >= 0.67",
       true},
      {"BM_AddMessageExclusive", "BM_RawInsertAutocommitExclusive", "exclusive vs raw exclusive, throughput ratio",
       true},
      {"BM_AddMessageMetadata", "BM_RawInsertMetadata", "with a metadata document, throughput ratio", true},
      {"BM_CAbiAddMessageMetadata", "BM_RawInsertMetadata", "C ABI, metadata document, throughput ratio", true},
      {"BM_CAbiAppendMessageInMemory", "BM_CAbiAddMessageJsonInMemory", "C ABI, scalars vs JSON, no I/O", true},
      {"BM_AddMessageConcurrent", "BM_RawInsertAutocommit", "8 threads, group commit, vs 1 raw writer", true},
      {"BM_AddMessagesBatch1000", "BM_RawInsertBatch1000", "throughput ratio, target >= 0.50", true},
      {"BM_GetConversation20", "BM_RawSelect20", "time ratio, target <= 1.5x", false},
      {"BM_ListConversations10", "BM_RawListIndexed10", "time ratio; target < 50 us absolute", false},
      {"BM_ListConversations10", "BM_RawListChapterV1Join10", "time ratio vs the chapter's V1 query", false},
  });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
