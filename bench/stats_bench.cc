// Statistics: what counting operations costs add_message. Two file stores, counting on and off
// (SetStatsEnabled(false)), and a raw SQLite insert of the same row (bench_support's baseline schema), called in
// turn, one call each per iteration with the order rotated, each call timed: the machine's noise hits all three
// alike. Reports each mean and the overhead of counting, per round; docs/benchmarks.md takes the median of the
// rounds. The instruction counts (exact, noise-free) come from convstore_write_path_work cpp / cpp-nostats under
// callgrind.
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_support.h"

namespace {

struct CountingStore {
  CountingStore(const std::string& name, bool counting) : path(bench::ScratchPath(name)) {
    bench::RemoveDb(path);
    store = bench::Open(path);
    bench::Must(store->SetStatsEnabled(counting), "statistics switch");
    convs = bench::MakeConversations(*store, 100, 10);
  }
  ~CountingStore() {
    store.reset();
    bench::RemoveDb(path);
  }
  std::string path;
  std::unique_ptr<convstore::ConversationStore> store;
  std::vector<std::string> convs;
};

void AddMessageStatsPaired(benchmark::State& state) {
  CountingStore on("stats-on", true), off("stats-off", false);
  bench::RawWriter raw("stats-raw");
  double on_s = 0, off_s = 0, raw_s = 0;
  int64_t i = 0;
  auto timed = [&](int which) {
    const int k = static_cast<int>(i);
    const auto start = std::chrono::steady_clock::now();
    if (which == 2) {
      raw.Insert(k);
    } else {
      CountingStore& s = which == 0 ? on : off;
      auto r = s.store->AddMessage(s.convs[static_cast<size_t>(i) % s.convs.size()], bench::Msg(k));
      if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    }
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    (which == 0 ? on_s : which == 1 ? off_s : raw_s) += took;
  };
  for (auto _ : state) {
    for (int j = 0; j < 3; ++j) timed(static_cast<int>((i + j) % 3));
    ++i;
  }
  const double n = static_cast<double>(std::max<int64_t>(1, i));
  state.counters["on_us"] = on_s / n * 1e6;
  state.counters["off_us"] = off_s / n * 1e6;
  state.counters["raw_us"] = raw_s / n * 1e6;
  state.counters["overhead_pct"] = off_s > 0 ? (on_s / off_s - 1) * 100 : 0;
  state.counters["on_vs_raw"] = raw_s > 0 ? on_s / raw_s : 0;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const char* rounds_env = std::getenv("CONVSTORE_STATS_ROUNDS");
  const int rounds = rounds_env ? std::max(1, std::atoi(rounds_env)) : 5;
  for (int round = 0; round < rounds; ++round)
    benchmark::RegisterBenchmark(("BM_AddMessageStatsPaired/round" + std::to_string(round + 1)).c_str(),
                                 AddMessageStatsPaired)
        ->Iterations(20'000)->UseRealTime()->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
