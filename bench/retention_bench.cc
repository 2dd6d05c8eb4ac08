// Retention of 1,000,000 old messages (10,000 conversations of 100, idle for 200 days, the change journal on):
// how long the run takes and the longest a concurrent writer waited — a thread of the same process adding one
// message every millisecond to a live conversation through the same store, each call timed. Next to it, in the
// same run, the raw-SQLite floor of the same deletes: the same rows removed from a copy of the same file by rowid
// in transactions of the same size (no rollups, retained cost, metadata index, journal or audit upkeep), with a
// raw writer inserting every millisecond through its own connection.
//
// The 1M-message store is built once through the API (its clock set 200 days back) and kept under the bench data
// directory; each repetition works on a fresh copy.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "convstore/env.h"

namespace {

constexpr int kConversations = 10'000;
constexpr int kPerConversation = 100;
constexpr int64_t kBatchRows = 1000;
constexpr int64_t kDay = 86'400'000'000;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

class FixedClock final : public convstore::Env {
 public:
  explicit FixedClock(int64_t at) : at_(at) {}
  int64_t NowMicros() override { return at_++; }

 private:
  std::atomic<int64_t> at_;
};

const std::string& Template() {
  static const std::string path = bench::BuiltOnce("retention-1m.db", [](const std::string& building) {
    FixedClock clock(NowUs() - 200 * kDay);
    convstore::Options o;
    o.env = &clock;
    auto store = bench::Must(convstore::ConversationStore::Open(building, o), "open the template");
    auto conversations = bench::MakeConversations(*store, kConversations, 500);
    std::vector<convstore::NewMessage> batch;
    for (int c = 0; c < kConversations; ++c) {
      batch.clear();
      for (int i = 0; i < kPerConversation; ++i) batch.push_back(bench::Msg(c * kPerConversation + i));
      bench::Must(store->AddMessages(conversations[static_cast<size_t>(c)], batch), "add messages");
    }
    bench::Must(store->Close(), "close the template");
  });
  return path;
}

// Latencies a writer thread saw, in µs.
struct WriterTimes {
  std::vector<int64_t> us;
  int64_t Max() const { return us.empty() ? 0 : *std::max_element(us.begin(), us.end()); }
  int64_t P99() {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    return us[static_cast<size_t>(static_cast<double>(us.size() - 1) * 0.99)];
  }
};

template <typename Write>
void RunWriter(std::atomic<bool>& stop, WriterTimes& times, Write write) {
  while (!stop.load()) {
    const auto t0 = std::chrono::steady_clock::now();
    write();
    times.us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void BM_Retention1M(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Template(), "retention-run");
    auto store = bench::Open(path);
    auto live = bench::Must(store->CreateConversation({.user_key = "live@example.com"}), "live conversation");
    std::atomic<bool> stop{false};
    WriterTimes times;
    std::thread writer([&] {
      int i = 0;
      RunWriter(stop, times, [&] { bench::Must(store->AddMessage(live.id, bench::Msg(i++)), "live write"); });
    });
    // The time between progress calls: one batch each (its candidates' read and its transaction).
    std::vector<int64_t> gaps;
    auto last = std::chrono::steady_clock::now();
    auto on_progress = [&](const convstore::RetentionProgress&) {
      const auto t = std::chrono::steady_clock::now();
      gaps.push_back(std::chrono::duration_cast<std::chrono::microseconds>(t - last).count());
      last = t;
    };
    state.ResumeTiming();
    auto report = bench::Must(
        store->ApplyRetention({.batch_rows = kBatchRows,
                               .policy = convstore::RetentionPolicy{.conversations_idle_us = 90 * kDay},
                               .on_progress = on_progress}),
        "apply retention");
    state.PauseTiming();
    stop = true;
    writer.join();
    if (report.messages != int64_t{kConversations} * kPerConversation)
      throw std::runtime_error("retention removed " + std::to_string(report.messages) + " messages");
    state.counters["messages"] = static_cast<double>(report.messages);
    state.counters["batches"] = static_cast<double>(report.batches);
    state.counters["longest_batch_ms"] = static_cast<double>(report.longest_batch_us) / 1000.0;
    state.counters["writer_max_ms"] = static_cast<double>(times.Max()) / 1000.0;
    state.counters["writer_p99_ms"] = static_cast<double>(times.P99()) / 1000.0;
    state.counters["writer_calls"] = static_cast<double>(times.us.size());
    const size_t slowest = static_cast<size_t>(std::max_element(gaps.begin(), gaps.end()) - gaps.begin());
    state.counters["slowest_batch_no"] = static_cast<double>(slowest);
    std::sort(gaps.begin(), gaps.end());
    state.counters["batch_p50_ms"] = gaps.empty() ? 0 : static_cast<double>(gaps[gaps.size() / 2]) / 1000.0;
    state.counters["batch_p99_ms"] =
        gaps.empty() ? 0 : static_cast<double>(gaps[static_cast<size_t>(static_cast<double>(gaps.size() - 1) * 0.99)]) / 1000.0;
    store.reset();
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kConversations * kPerConversation);
}
BENCHMARK(BM_Retention1M)->Iterations(1)->Repetitions(3)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawBatchDelete1M(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bench::FreshCopyOf(Template(), "retention-raw");
    sqlite3* db = bench::OpenRaw(path);
    bench::Exec(db, "PRAGMA foreign_keys=OFF");  // the raw floor removes the rows alone
    sqlite3* other = bench::OpenRaw(path);
    sqlite3_busy_timeout(other, 60'000);
    bench::Exec(other, "CREATE TABLE IF NOT EXISTS live_log (id INTEGER PRIMARY KEY, at INTEGER, text TEXT)");
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(other, "INSERT INTO live_log(at, text) VALUES (?1, ?2)", -1, &ins, nullptr);
    std::atomic<bool> stop{false};
    WriterTimes times;
    std::thread writer([&] {
      int i = 0;
      RunWriter(stop, times, [&] {
        sqlite3_bind_int64(ins, 1, NowUs());
        sqlite3_bind_text(ins, 2, bench::Content(i++).c_str(), -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(other));
        sqlite3_reset(ins);
      });
    });
    sqlite3_stmt* del = nullptr;
    sqlite3_prepare_v2(db,
                       "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2)"
                       " RETURNING id",
                       -1, &del, nullptr);
    int64_t longest_us = 0, removed = 0, after = 0, batch_no = 0, slowest_no = 0;
    state.ResumeTiming();
    for (;;) {
      const auto t0 = std::chrono::steady_clock::now();
      bench::Exec(db, "BEGIN IMMEDIATE");
      sqlite3_bind_int64(del, 1, after);
      sqlite3_bind_int64(del, 2, kBatchRows);
      int64_t n = 0;
      while (sqlite3_step(del) == SQLITE_ROW) {
        after = std::max<int64_t>(after, sqlite3_column_int64(del, 0));
        ++n;
      }
      sqlite3_reset(del);
      bench::Exec(db, "COMMIT");
      const int64_t took =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
      if (took > longest_us) slowest_no = batch_no;
      longest_us = std::max(longest_us, took);
      ++batch_no;
      removed += n;
      if (n < kBatchRows) break;
    }
    state.PauseTiming();
    stop = true;
    writer.join();
    state.counters["messages"] = static_cast<double>(removed);
    state.counters["longest_batch_ms"] = static_cast<double>(longest_us) / 1000.0;
    state.counters["slowest_batch_no"] = static_cast<double>(slowest_no);
    state.counters["writer_max_ms"] = static_cast<double>(times.Max()) / 1000.0;
    state.counters["writer_p99_ms"] = static_cast<double>(times.P99()) / 1000.0;
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    sqlite3_close(other);
    sqlite3_close(db);
    bench::RemoveDb(path);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kConversations * kPerConversation);
}
BENCHMARK(BM_RawBatchDelete1M)->Iterations(1)->Repetitions(3)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Template();  // built (once) before anything is timed
  bench::RatioReporter reporter(
      {{"BM_Retention1M", "BM_RawBatchDelete1M", "retention / raw batched delete of the same rows, messages/s", true}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
