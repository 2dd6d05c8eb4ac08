// What the change journal costs a writer: single add_message with the journal on and off, next to the raw-SQLite
// insert baseline, interleaved in blocks in one run so a noisy machine moves all three alike; and the WAL frames
// each commit appends (the pages SQLite writes), counted from the WAL's size after a fixed number of commits.
//
//   build/bench/convstore_ops_bench                          # all
//   build/bench/convstore_ops_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "ops/replay.h"
#include "sqlite/connection.h"

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

// SQLite's backup API from `from` to `to`, `pages` per step (-1: one step); returns the last step's code.
int CopyWithBackupApi(const std::string& from, const std::string& to, int pages,
                      const std::function<bool()>& go_on = [] { return true; }) {
  sqlite3* src = bench::OpenRaw(from);
  sqlite3* dst = bench::OpenRaw(to);
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  int rc;
  while ((rc = sqlite3_backup_step(b, pages)) == SQLITE_OK && go_on()) {
  }
  sqlite3_backup_finish(b);
  sqlite3_close(dst);
  sqlite3_close(src);
  return rc;
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

// Point-in-time restore's replay rate: the journal entries of 20,000 single add_message calls (100 conversations,
// a message row and a counters update each) applied to a copy of the store taken before them, in one transaction,
// with convstore's replayer. Reports changes per second (the copy is made outside the timed part).
// The journal entries of 20,000 single add_message calls and a copy of the store taken before them; built once
// for both replay benchmarks.
struct ReplayFixture {
  ReplayFixture() {
    auto store = bench::Open(live);
    auto convs = bench::MakeConversations(*store, 100, 10);
    store.reset();
    CopyWithBackupApi(live, base, -1);
    store = bench::Open(live);
    for (int i = 0; i < 20000; ++i) {
      auto r = store->AddMessage(convs[static_cast<size_t>(i) % convs.size()], bench::Msg(i));
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
    }
    store.reset();
    sqlite3* db = bench::OpenRaw(base);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT max(seq) FROM change_journal", -1, &st, nullptr);
    sqlite3_step(st);
    const int64_t base_seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    db = bench::OpenRaw(live);
    sqlite3_prepare_v2(db, "SELECT seq, changes FROM change_journal WHERE seq > ?1 AND kind = 0 ORDER BY seq", -1,
                       &st, nullptr);
    sqlite3_bind_int64(st, 1, base_seq);
    while (sqlite3_step(st) == SQLITE_ROW)
      entries.emplace_back(sqlite3_column_int64(st, 0),
                           std::string(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                                       static_cast<size_t>(sqlite3_column_bytes(st, 1))));
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  ~ReplayFixture() {
    bench::RemoveDb(target);
    bench::RemoveDb(base);
    bench::RemoveDb(live);
  }
  // A fresh copy of the base at `target`, opened with foreign keys off and a write transaction begun.
  std::unique_ptr<convstore::sqlite::Connection> FreshTarget() {
    bench::RemoveDb(target);
    CopyWithBackupApi(base, target, -1);
    auto conn = bench::Must(convstore::sqlite::Connection::Open(target, {}), "open the copy");
    bench::Must(conn->Exec("PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE", "begin"), "begin");
    return conn;
  }
  const std::string base = bench::ScratchPath("replay-base");
  const std::string live = bench::ScratchPath("replay-live");
  const std::string target = bench::ScratchPath("replay-target");
  std::vector<std::pair<int64_t, std::string>> entries;  // seq, changeset
};

ReplayFixture& Replays() {
  static ReplayFixture fixture;
  return fixture;
}

void BM_ReplayRate(benchmark::State& state) {
  ReplayFixture& f = Replays();
  int64_t changes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto conn = f.FreshTarget();
    state.ResumeTiming();
    convstore::ops::Replayer replayer(*conn);
    for (const auto& [seq, blob] : f.entries) bench::Must(replayer.Apply(seq, blob), "replay");
    bench::Must(conn->Exec("COMMIT", "commit"), "commit");
    changes += replayer.changes_applied();
  }
  state.counters["changes_per_s"] = benchmark::Counter(static_cast<double>(changes), benchmark::Counter::kIsRate);
  state.counters["entries"] = static_cast<double>(f.entries.size());
}
BENCHMARK(BM_ReplayRate)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);

// The baseline for the replay rate: the same entries (they are in the session extension's changeset format)
// applied to the same copy by SQLite's own sqlite3changeset_apply, in one transaction, aborting on any conflict.
void BM_ReplayRateChangesetApply(benchmark::State& state) {
  ReplayFixture& f = Replays();
  int64_t changes = 0;
  auto on_conflict = [](void*, int, sqlite3_changeset_iter*) { return SQLITE_CHANGESET_ABORT; };
  int64_t per_pass = 0;  // row changes in the entries, counted once outside the timing
  for (const auto& entry : f.entries) {
    const std::string& blob = entry.second;
    sqlite3_changeset_iter* it = nullptr;
    sqlite3changeset_start(&it, static_cast<int>(blob.size()), const_cast<char*>(blob.data()));
    while (sqlite3changeset_next(it) == SQLITE_ROW) ++per_pass;
    sqlite3changeset_finalize(it);
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto conn = f.FreshTarget();
    state.ResumeTiming();
    for (const auto& [seq, blob] : f.entries) {
      const int rc = sqlite3changeset_apply(conn->raw(), static_cast<int>(blob.size()), const_cast<char*>(blob.data()),
                                            nullptr, on_conflict, nullptr);
      if (rc != SQLITE_OK) throw std::runtime_error("sqlite3changeset_apply failed at entry " + std::to_string(seq));
    }
    bench::Must(conn->Exec("COMMIT", "commit"), "commit");
    changes += per_pass;
  }
  state.counters["changes_per_s"] = benchmark::Counter(static_cast<double>(changes), benchmark::Counter::kIsRate);
  state.counters["entries"] = static_cast<double>(f.entries.size());
}
BENCHMARK(BM_ReplayRateChangesetApply)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);

// Backups of a store of at least 1 GB (built once under the bench data directory: 100 conversations, messages of
// ~1 KB in batches of 1,000, the journal off while loading): convstore's Backup (VACUUM INTO), SQLite's backup API
// stepped 100 pages at a time as the sqlite3 shell's .backup does, the shell's `sqlite3 SRC ".backup DST"` itself,
// and cp, each with no writer; then the
// throughput of a writer adding single messages during each kind of copy, as a fraction of its throughput with
// none, in the same run.
std::string BigStore() {
  const std::string path = bench::DataDir() + "/backup-1gb.db";
  if (FileSize(path) >= (int64_t{1} << 30)) return path;
  bench::RemoveDb(path);
  auto store = bench::Open(path);
  bench::Must(store->SetJournalEnabled(false), "journal off for the load");
  auto convs = bench::MakeConversations(*store, 100, 10);
  const std::string content(1000, 'x');
  for (int batch = 0; FileSize(path) + FileSize(path + "-wal") < (int64_t{1} << 30) + (int64_t{64} << 20); ++batch) {
    std::vector<convstore::NewMessage> msgs(1000, bench::Msg(batch));
    for (auto& m : msgs) m.content = content + std::to_string(batch);
    bench::Must(store->AddMessages(convs[static_cast<size_t>(batch) % convs.size()], msgs).status(), "load");
  }
  bench::Must(store->SetJournalEnabled(true), "journal on");
  return path;
}

// Adds single messages from another thread while `copy` runs; returns messages per second during the copy (or
// during `seconds` when copy is empty).
double WriterRate(convstore::ConversationStore& store, const std::string& conversation,
                  const std::function<void()>& copy, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> written{0};
  std::thread writer([&] {
    int i = 0;
    while (!stop) {
      if (store.AddMessage(conversation, bench::Msg(i++)).ok()) ++written;
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  if (copy) copy();
  else std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  writer.join();
  return static_cast<double>(written.load()) / elapsed;
}

void BM_Backup1GB(benchmark::State& state) {
  const std::string src = BigStore();
  const std::string dst = bench::ScratchPath("backup-copy");
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto remove = [&] {
    bench::RemoveDb(dst);
    std::remove((dst + ".manifest.json").c_str());
  };
  auto vacuum_into = [&](convstore::ConversationStore& store) {
    remove();
    convstore::BackupOptions o;
    o.path = dst;
    bench::Must(store.Backup(o).status(), "backup");
  };
  auto backup_api = [&] {
    remove();
    CopyWithBackupApi(src, dst, 100);
  };
  auto shell = [&] {  // the sqlite3 command-line shell's .backup (sqlite3 package)
    remove();
    if (std::system(("sqlite3 '" + src + "' \".backup '" + dst + "'\"").c_str()) != 0)
      throw std::runtime_error("sqlite3 .backup failed (is the sqlite3 shell installed?)");
  };
  auto cp = [&] {
    remove();
    if (std::system(("cp '" + src + "' '" + dst + "'").c_str()) != 0) throw std::runtime_error("cp failed");
  };
  double t_vacuum = 0, t_api = 0, t_shell = 0, t_cp = 0, rate_none = 0, rate_vacuum = 0, rate_api = 0;
  for (auto _ : state) {
    auto store = bench::Open(src);
    auto conv = bench::MakeConversations(*store, 1, 1)[0];
    auto t0 = Clock::now();
    vacuum_into(*store);
    t_vacuum = seconds(t0);
    store.reset();
    t0 = Clock::now();
    backup_api();
    t_api = seconds(t0);
    t0 = Clock::now();
    shell();
    t_shell = seconds(t0);
    t0 = Clock::now();
    cp();
    t_cp = seconds(t0);
    store = bench::Open(src);
    rate_none = WriterRate(*store, conv, nullptr, 10);
    rate_vacuum = WriterRate(*store, conv, [&] { vacuum_into(*store); }, 0);
    // The stepped backup API restarts whenever another connection writes: bounded to 120 s.
    rate_api = WriterRate(*store, conv, [&] {
      remove();
      const auto start = Clock::now();
      const int rc = CopyWithBackupApi(src, dst, 100, [&] { return seconds(start) < 120; });
      state.counters["backup_api_finished"] = rc == SQLITE_DONE ? 1 : 0;
    }, 0);
  }
  state.counters["store_gb"] = static_cast<double>(FileSize(src)) / 1e9;
  state.counters["s_backup_vacuum_into"] = t_vacuum;
  state.counters["s_backup_api_100_pages"] = t_api;
  state.counters["s_sqlite3_shell_backup"] = t_shell;
  state.counters["s_cp"] = t_cp;
  state.counters["writes_per_s_alone"] = rate_none;
  state.counters["writer_fraction_vacuum_into"] = rate_vacuum / rate_none;
  state.counters["writer_fraction_backup_api"] = rate_api / rate_none;
  remove();
}
BENCHMARK(BM_Backup1GB)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// Archive lag: a writer adds 1,000 single messages per second (paced) for 20 s while the store archives itself
// in-process with the default 1 s interval; a watcher notes when each journal entry is reported archived (the
// round that shipped it has made its segment durable). Lag = archived time - acknowledged time, per message;
// reported as p50, p99 and max, next to the interval they are bounded by.
void BM_ArchiveLag(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  const std::string db = bench::ScratchPath("archive-lag");
  const std::string dir = db + "-archive";
  std::vector<double> lags_ms;
  for (auto _ : state) {
    if (std::system(("rm -rf '" + dir + "'").c_str()) != 0) throw std::runtime_error("rm failed");
    bench::RemoveDb(db);
    auto store = bench::Open(db);
    auto convs = bench::MakeConversations(*store, 10, 10);
    convstore::ArchiveOptions o;
    o.directory = dir;
    bench::Must(store->StartArchiving(o), "start archiving");
    std::vector<std::pair<int64_t, Clock::time_point>> acked;  // seq, acknowledged
    std::mutex mu;
    std::vector<std::pair<int64_t, Clock::time_point>> archived;  // archived_seq, when first seen
    std::atomic<bool> stop{false};
    std::thread watcher([&] {
      int64_t seen = 0;
      while (!stop) {
        auto s = store->GetArchivingStatus();
        if (s.ok() && s->totals.archived_seq > seen) {
          seen = s->totals.archived_seq;
          std::lock_guard lock(mu);
          archived.emplace_back(seen, Clock::now());
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
    const int total = 20000;
    const auto start = Clock::now();
    int64_t last_seq = bench::Must(store->GetJournalStatus(), "status").last_seq;
    for (int i = 0; i < total; ++i) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(1000 * i));
      bench::Must(store->AddMessage(convs[static_cast<size_t>(i) % convs.size()], bench::Msg(i)).status(), "add");
      const auto now = Clock::now();
      auto next = bench::Must(store->ReadJournal({.after_seq = last_seq, .limit = 10, .decode = false}), "read");
      if (!next.empty()) last_seq = next.back().seq;
      acked.emplace_back(last_seq, now);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    stop = true;
    watcher.join();
    bench::Must(store->StopArchiving().status(), "stop archiving");
    size_t k = 0;
    for (const auto& [seq, at] : acked) {
      while (k < archived.size() && archived[k].first < seq) ++k;
      if (k == archived.size()) throw std::runtime_error("an entry was never archived");
      lags_ms.push_back(std::chrono::duration<double, std::milli>(archived[k].second - at).count());
    }
  }
  std::sort(lags_ms.begin(), lags_ms.end());
  auto pct = [&](double p) { return lags_ms[static_cast<size_t>(p * static_cast<double>(lags_ms.size() - 1))]; };
  state.counters["lag_p50_ms"] = pct(0.50);
  state.counters["lag_p99_ms"] = pct(0.99);
  state.counters["lag_max_ms"] = lags_ms.back();
  state.counters["interval_ms"] = 1000;
  state.counters["messages"] = static_cast<double>(lags_ms.size());
  if (std::system(("rm -rf '" + dir + "'").c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  bench::RemoveDb(db);
}
BENCHMARK(BM_ArchiveLag)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
