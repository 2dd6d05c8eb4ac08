// Erasing a user with 10,000 messages (100 conversations of 100, priced, with metadata) and 1,000 API usage rows
// from a store of 200,000 messages of 20 users, the change journal on (its entries rewritten without the user):
// how long EraseUser takes, the file steps included (the WAL emptied). Next to it, in the same run, the raw-SQLite
// floor: the same rows deleted from a copy of the same file in one transaction (no retained cost, metadata index,
// journal, audit or secure delete), then the WAL checkpointed and truncated.
//
// The store is built once through the API and kept under the bench data directory; each repetition works on a
// fresh copy, written out to disk first.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"

namespace {

constexpr int kUsers = 20;
constexpr int kConversationsPerUser = 100;
constexpr int kMessagesPerConversation = 100;
constexpr int kUsagePerUser = 1000;

std::string UserKey(int u) { return "user-" + std::to_string(u) + "@example.com"; }

std::string TemplatePath() { return bench::DataDir() + "/erase-200k.db"; }

const std::string& Template() {
  static const std::string path = [] {
    const std::string p = TemplatePath();
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return p;
    const std::string building = p + ".building";
    bench::RemoveDb(building);
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
    std::filesystem::rename(building, p);
    return p;
  }();
  return path;
}

std::string FreshCopy(const char* name) {
  const std::string copy = bench::ScratchPath(name);
  std::filesystem::copy_file(Template(), copy, std::filesystem::copy_options::overwrite_existing);
  const int fd = ::open(copy.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) throw std::runtime_error("could not write out the copy");
  ::close(fd);
  return copy;
}

void BM_EraseUser10k(benchmark::State& state) {
  int next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = FreshCopy("erase-run");
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
    const std::string path = FreshCopy("erase-raw");
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

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Template();  // built (once) before anything is timed
  bench::RatioReporter reporter(
      {{"BM_EraseUser10k", "BM_RawDeleteUser10k", "erase_user / raw delete of the same rows, time", false}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
