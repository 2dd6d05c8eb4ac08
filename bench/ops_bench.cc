// What the change journal costs a writer: single add_message with the journal on and off, next to the raw-SQLite
// insert baseline, interleaved in blocks in one run so a noisy machine moves all three alike; and the WAL frames
// each commit appends (the pages SQLite writes), counted from the WAL's size after a fixed number of commits.
//
//   build/bench/convstore_ops_bench                          # all
//   build/bench/convstore_ops_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_support.h"

namespace {

constexpr int kBlock = 100;  // commits per block; blocks alternate between the three writers

// A store with 100 conversations over 10 users, the journal on or off.
struct StoreWriter {
  StoreWriter(const std::string& name, bool journal) : path(bench::ScratchPath(name)), store(bench::Open(path)) {
    bench::Must(store->SetJournalEnabled(journal), "switch the journal");
    convs = bench::MakeConversations(*store, 100, 10);
  }
  ~StoreWriter() {
    store.reset();
    bench::RemoveDb(path);
  }
  void Add(int i) {
    auto r = store->AddMessage(convs[static_cast<size_t>(i) % convs.size()], bench::Msg(i));
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
  }
  std::string path;
  std::unique_ptr<convstore::ConversationStore> store;
  std::vector<std::string> convs;
  int next = 0;
};

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// WAL frames appended per commit by `commit(i)`, over n commits after a truncating checkpoint (n stays below the
// autocheckpoint threshold, so the WAL only grows).
template <typename Commit>
double FramesPerCommit(const std::string& path, int n, Commit&& commit) {
  sqlite3* raw = bench::OpenRaw(path);
  bench::Exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)");
  for (int i = 0; i < n; ++i) commit(i);
  bench::Exec(raw, "SELECT 1");
  sqlite3_close(raw);
  const int64_t wal = FileSize(path + "-wal");
  return wal <= 32 ? 0.0 : static_cast<double>(wal - 32) / (4096 + 24) / n;
}

void BM_JournalCostPaired(benchmark::State& state) {
  StoreWriter on("journal-on", true), off("journal-off", false);
  bench::RawWriter raw("journal-raw");
  double frames_on = FramesPerCommit(on.path, 300, [&](int i) { on.Add(i); });
  double frames_off = FramesPerCommit(off.path, 300, [&](int i) { off.Add(i); });
  double frames_raw = FramesPerCommit(raw.path, 300, [&](int i) { raw.Insert(i); });
  double us_on = 0, us_off = 0, us_raw = 0;
  int i = 0;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    // One block each, in a rotating order.
    for (int k = 0; k < 3; ++k) {
      const int which = (static_cast<int>(state.iterations()) + k) % 3;
      auto t0 = Clock::now();
      for (int j = 0; j < kBlock; ++j) {
        if (which == 0) on.Add(i + j);
        else if (which == 1) off.Add(i + j);
        else raw.Insert(i + j);
      }
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      (which == 0 ? us_on : which == 1 ? us_off : us_raw) += us;
    }
    i += kBlock;
  }
  const double n = static_cast<double>(state.iterations()) * kBlock;
  state.counters["us_journal_on"] = us_on / n;
  state.counters["us_journal_off"] = us_off / n;
  state.counters["us_raw_insert"] = us_raw / n;
  state.counters["time_ratio_on_off"] = us_on / us_off;
  state.counters["frames_journal_on"] = frames_on;
  state.counters["frames_journal_off"] = frames_off;
  state.counters["frames_raw_insert"] = frames_raw;
  state.counters["journal_frames"] = frames_on - frames_off;
  auto status = on.store->GetJournalStatus();
  if (status.ok() && status->entries > 0)
    state.counters["journal_bytes_per_entry"] = static_cast<double>(status->bytes) / static_cast<double>(status->entries);
}
BENCHMARK(BM_JournalCostPaired)->Iterations(60)->UseRealTime()->Unit(benchmark::kMillisecond);

// Why the journal does not use SQLite's session extension: the raw baseline's message insert plus a counter update,
// one transaction per message, without (Arg 0) and with (Arg 1) a session object created for the transaction (as
// a per-transaction changeset needs), its changeset taken and the session deleted.
void BM_RawCommitWithSessionExtension(benchmark::State& state) {
  const bool session = state.range(0) == 1;
  bench::RawWriter raw(session ? "session-on" : "session-off");
  bench::Exec(raw.db, "CREATE TABLE counters(id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
                      "INSERT INTO counters VALUES (1, 0);");
  sqlite3_stmt* bump = nullptr;
  sqlite3_prepare_v2(raw.db, "UPDATE counters SET n = n + 1 WHERE id = 1", -1, &bump, nullptr);
  int i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    bench::Exec(raw.db, "BEGIN IMMEDIATE");
    sqlite3_session* s = nullptr;
    if (session) {
      sqlite3session_create(raw.db, "main", &s);
      sqlite3session_attach(s, nullptr);
    }
    raw.Insert(i++);
    sqlite3_step(bump);
    sqlite3_reset(bump);
    if (session) {
      int n = 0;
      void* p = nullptr;
      sqlite3session_changeset(s, &n, &p);
      bytes += n;
      sqlite3_free(p);
      sqlite3session_delete(s);
    }
    bench::Exec(raw.db, "COMMIT");
  }
  sqlite3_finalize(bump);
  if (session) state.counters["changeset_bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RawCommitWithSessionExtension)->Arg(0)->Arg(1)->MinTime(2.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
