// Erasing a user with 10,000 messages (100 conversations of 100, priced, with metadata) and 1,000 API usage rows
// from a store of 200,000 messages of 20 users, the change journal on (its entries rewritten without the user):
// how long EraseUser takes, the file steps included (the WAL emptied). Next to it, in the same run, the raw-SQLite
// floor: the same rows deleted from a copy of the same file in one transaction (no retained cost, metadata index,
// journal, audit or secure delete), then the WAL checkpointed and truncated.
//
// Exporting the same user (JSON Lines to memory) next to a raw-SQLite floor: the same rows selected with SQLite's
// json_object, one line each; importing that export after the user's erasure next to a raw floor: the export's
// lines parsed and the conversation, message and API-usage rows inserted in one transaction.
//
// The store is built once through the API and kept under the bench data directory; each repetition works on a
// fresh copy, written out to disk first.

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_support.h"

namespace {

constexpr int kUsers = 20;
constexpr int kConversationsPerUser = 100;
constexpr int kMessagesPerConversation = 100;
constexpr int kUsagePerUser = 1000;

std::string UserKey(int u) { return "user-" + std::to_string(u) + "@example.com"; }

const std::string& Template() {
  static const std::string path = bench::BuiltOnce("erase-200k.db", [](const std::string& building) {
    auto store = bench::Open(building);
    std::vector<convstore::NewMessage> batch;
    for (int u = 0; u < kUsers; ++u) {
      for (int c = 0; c < kConversationsPerUser; ++c) {
        auto conv = bench::Must(store->CreateConversation({.user_key = UserKey(u), .title = "conversation",
                                                           .metadata_json = R"({"topic":"bgp"})"}),
                                "create a conversation");
        batch.clear();
        for (int i = 0; i < kMessagesPerConversation; ++i) {
          convstore::NewMessage m = bench::Msg(i);
          m.metadata_json = R"({"kind":"answer","n":)" + std::to_string(i % 10) + "}";
          batch.push_back(std::move(m));
        }
        bench::Must(store->AddMessages(conv.id, batch), "add messages");
      }
      for (int i = 0; i < kUsagePerUser; ++i)
        bench::Must(store->RecordApiUsage({.user_key = UserKey(u), .model = "gpt-4o", .tokens_input = 100,
                                           .cost_nanousd = 1000}),
                    "record api usage");
    }
    bench::Must(store->Close(), "close the template");
  });
  return path;
}

void BM_EraseUser10k(benchmark::State& state) {
  int next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Template(), "erase-run");
    auto store = bench::Open(path);
    state.ResumeTiming();
    auto report = bench::Must(store->EraseUser(UserKey(next++ % kUsers)), "erase");
    state.PauseTiming();
    if (report.messages != kConversationsPerUser * kMessagesPerConversation || !report.pending.empty())
      throw std::runtime_error("the erasure did not remove the user's 10,000 messages or left steps pending");
    state.counters["journal_entries_rewritten"] = static_cast<double>(report.journal_entries_rewritten);
    store.reset();
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_EraseUser10k)->Iterations(1)->Repetitions(5)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawDeleteUser10k(benchmark::State& state) {
  int next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Template(), "erase-raw");
    sqlite3* db = bench::OpenRaw(path);
    bench::Exec(db, "PRAGMA foreign_keys=OFF");
    const std::string key = UserKey(next++ % kUsers);
    sqlite3_stmt* id = nullptr;
    sqlite3_prepare_v2(db, "SELECT id FROM users WHERE key = ?1", -1, &id, nullptr);
    sqlite3_bind_text(id, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(id);
    const int64_t user = sqlite3_column_int64(id, 0);
    sqlite3_finalize(id);
    const std::string u = std::to_string(user);
    state.ResumeTiming();
    bench::Exec(db, "BEGIN IMMEDIATE");
    bench::Exec(db, ("DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE user_id = " +
                     u + ")").c_str());
    bench::Exec(db, ("DELETE FROM conversations WHERE user_id = " + u).c_str());
    bench::Exec(db, ("DELETE FROM api_usage WHERE user_id = " + u).c_str());
    bench::Exec(db, ("UPDATE users SET key = 'erased', email = '', name = '' WHERE id = " + u).c_str());
    bench::Exec(db, "COMMIT");
    bench::Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    state.PauseTiming();
    sqlite3_close(db);
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_RawDeleteUser10k)->Iterations(1)->Repetitions(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// The export of user 0 from the template, made once (for the import benchmarks).
const std::string& TemplateExport() {
  static const std::string text = [] {
    auto store = bench::Open(Template());
    std::string out;
    bench::Must(store->ExportUser(UserKey(0), {.sink = [&](std::string_view chunk) {
                                                 out.append(chunk);
                                                 return convstore::Status::OK();
                                               }}),
                "export");
    return out;
  }();
  return text;
}

void BM_ExportUser10k(benchmark::State& state) {
  auto store = bench::Open(Template());
  int64_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    out.reserve(8 << 20);
    auto r = bench::Must(store->ExportUser(UserKey(0), {.sink = [&](std::string_view chunk) {
                                                          out.append(chunk);
                                                          return convstore::Status::OK();
                                                        }}),
                         "export");
    bytes = r.bytes;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ExportUser10k)->Repetitions(5)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawExportUser10k(benchmark::State& state) {
  sqlite3* db = bench::OpenRaw(Template());
  const char* sqls[] = {
      "SELECT json_object('type','conversation','id',uid,'title',title,'metadata',json(metadata),"
      "'created_at_us',created_at) FROM conversations WHERE user_id = (SELECT id FROM users WHERE key = ?1)",
      "SELECT json_object('type','message','id',m.uid,'conversation_id',c.uid,'position',m.position,'role',m.role,"
      "'content',m.content,'model',m.model,'tokens_input',m.tokens_input,'tokens_output',m.tokens_output,"
      "'cost_nanousd',m.cost_nanousd,'latency_us',m.latency_us,'metadata',json(m.metadata),'created_at_us',"
      "m.created_at) FROM conversations c JOIN messages m ON m.conversation_id = c.id"
      " WHERE c.user_id = (SELECT id FROM users WHERE key = ?1) ORDER BY c.id, m.position",
      "SELECT json_object('type','api_usage','id',uid,'model',model,'tokens_input',tokens_input,'cost_nanousd',"
      "cost_nanousd,'created_at_us',recorded_at) FROM api_usage WHERE user_id = (SELECT id FROM users WHERE key = ?1)"};
  const std::string key = UserKey(0);
  for (auto _ : state) {
    std::string out;
    out.reserve(8 << 20);
    bench::Exec(db, "BEGIN");
    for (const char* sql : sqls) {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
      sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_STATIC);
      while (sqlite3_step(st) == SQLITE_ROW) {
        out.append(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                   static_cast<size_t>(sqlite3_column_bytes(st, 0)));
        out.push_back('\n');
      }
      sqlite3_finalize(st);
    }
    bench::Exec(db, "COMMIT");
    benchmark::DoNotOptimize(out.data());
  }
  sqlite3_close(db);
}
BENCHMARK(BM_RawExportUser10k)->Repetitions(5)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ImportUser10k(benchmark::State& state) {
  const std::string& text = TemplateExport();
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Template(), "import-run");
    auto store = bench::Open(path);
    bench::Must(store->EraseUser(UserKey(0)), "erase");
    size_t offset = 0;
    state.ResumeTiming();
    auto r = bench::Must(store->ImportUser({.source = [&](char* buf, size_t cap) -> convstore::Result<size_t> {
                                             const size_t n = std::min(cap, text.size() - offset);
                                             std::memcpy(buf, text.data() + offset, n);
                                             offset += n;
                                             return n;
                                           }}),
                         "import");
    state.PauseTiming();
    if (r.counts.messages != kConversationsPerUser * kMessagesPerConversation)
      throw std::runtime_error("the import did not bring back the user's 10,000 messages");
    store.reset();
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_ImportUser10k)->Iterations(1)->Repetitions(5)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawImportUser10k(benchmark::State& state) {
  const std::string& text = TemplateExport();
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Template(), "import-raw");
    sqlite3* db = bench::OpenRaw(path);
    bench::Exec(db, "PRAGMA foreign_keys=OFF");
    bench::Exec(db, "DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE user_id = 1)");
    bench::Exec(db, "DELETE FROM api_usage WHERE user_id = 1");
    bench::Exec(db, "DELETE FROM conversations WHERE user_id = 1");
    state.ResumeTiming();
    sqlite3_stmt *conv = nullptr, *msg = nullptr, *usage = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO conversations(uid, user_id, title, metadata, created_at, updated_at)"
                           " VALUES (?1, 1, ?2, ?3, ?4, ?4)", -1, &conv, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO messages(uid, conversation_id, position, role, content, model, tokens_input,"
                           " tokens_output, cost_nanousd, latency_us, metadata, created_at)"
                           " VALUES (?1, (SELECT id FROM conversations WHERE uid = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                           " ?10, ?11, ?12)", -1, &msg, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO api_usage(uid, user_id, model, tokens_input, cost_nanousd, status, recorded_at)"
                           " VALUES (?1, 1, ?2, ?3, ?4, 'success', ?5)", -1, &usage, nullptr);
    bench::Exec(db, "BEGIN IMMEDIATE");
    size_t start = 0;
    auto opt_int = [](sqlite3_stmt* st, int i, const nlohmann::json& v) {
      if (v.is_number_integer()) sqlite3_bind_int64(st, i, v.get<int64_t>()); else sqlite3_bind_null(st, i);
    };
    while (start < text.size()) {
      const size_t nl = text.find('\n', start);
      const auto j = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                           text.begin() + static_cast<std::ptrdiff_t>(nl));
      start = nl + 1;
      const std::string& type = j["type"].get_ref<const std::string&>();
      if (type == "conversation") {
        sqlite3_bind_text(conv, 1, j["id"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(conv, 2, j["title"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(conv, 3, j["metadata"].dump().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(conv, 4, j["created_at_us"].get<int64_t>());
        sqlite3_step(conv);
        sqlite3_reset(conv);
      } else if (type == "message") {
        sqlite3_bind_text(msg, 1, j["id"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(msg, 2, j["conversation_id"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(msg, 3, j["position"].get<int64_t>());
        sqlite3_bind_text(msg, 4, j["role"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(msg, 5, j["content"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(msg, 6, j["model"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        opt_int(msg, 7, j["tokens_input"]);
        opt_int(msg, 8, j["tokens_output"]);
        opt_int(msg, 9, j["cost_nanousd"]);
        opt_int(msg, 10, j["latency_us"]);
        sqlite3_bind_text(msg, 11, j["metadata"].dump().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(msg, 12, j["created_at_us"].get<int64_t>());
        sqlite3_step(msg);
        sqlite3_reset(msg);
      } else if (type == "api_usage") {
        sqlite3_bind_text(usage, 1, j["id"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(usage, 2, j["model"].get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
        opt_int(usage, 3, j["tokens_input"]);
        opt_int(usage, 4, j["cost_nanousd"]);
        sqlite3_bind_int64(usage, 5, j["recorded_at_us"].get<int64_t>());
        sqlite3_step(usage);
        sqlite3_reset(usage);
      }
    }
    bench::Exec(db, "COMMIT");
    state.PauseTiming();
    sqlite3_finalize(conv);
    sqlite3_finalize(msg);
    sqlite3_finalize(usage);
    sqlite3_close(db);
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_RawImportUser10k)->Iterations(1)->Repetitions(5)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Template();  // built (once) before anything is timed
  bench::RatioReporter reporter(
      {{"BM_EraseUser10k", "BM_RawDeleteUser10k", "erase_user / raw delete of the same rows, time", false},
       {"BM_ExportUser10k", "BM_RawExportUser10k", "export_user / raw json_object select, time", false},
       {"BM_ImportUser10k", "BM_RawImportUser10k", "import_user / raw parse and insert, time", false}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
