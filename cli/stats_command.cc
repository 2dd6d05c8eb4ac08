// convstore stats: the store's statistics of its operations, page cache, WAL and checkpoints (convstore/monitoring.h,
// docs/monitoring.md "Statistics"), as a table or the C API's JSON; --reset zeroes them.
#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct StatsArgs {
  std::string store;
  bool json = false, reset = false;
};

double Num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

void PrintTable(const JsonView& s) {
  std::printf("since %s\n\n", s.Text("since").c_str());
  std::printf("%-28s %10s %8s %10s %12s %10s %10s %10s %10s\n", "operation", "calls", "errors", "rows", "total ms",
              "mean µs", "min µs", "max µs", "stddev µs");
  for (const auto& o : s.json()["operations"]) {
    JsonView v(o);
    std::printf("%-28s %10lld %8lld %10lld %12.1f %10.1f %10.1f %10.1f %10.1f\n", v.Text("name").c_str(),
                static_cast<long long>(v.Int("calls")), static_cast<long long>(v.Int("errors")),
                static_cast<long long>(v.Int("rows")), Num(o, "total_us") / 1000.0, Num(o, "mean_us"),
                Num(o, "min_us"), Num(o, "max_us"), Num(o, "stddev_us"));
  }
  const int64_t hits = s.Int("cache_hits"), misses = s.Int("cache_misses");
  std::printf("\npage cache: %lld hits, %lld misses (%.1f%% hits), %lld pages written\n",
              static_cast<long long>(hits), static_cast<long long>(misses),
              hits + misses > 0 ? 100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses) : 0.0,
              static_cast<long long>(s.Int("cache_writes")));
  std::printf("WAL: %lld bytes; %lld checkpoints run\n", static_cast<long long>(s.Int("wal_bytes")),
              static_cast<long long>(s.Int("checkpoints")));
}

int Run(const StatsArgs& a) {
  convstore_t* db = nullptr;
  // Read-only for a look: this command's own handle then saves nothing into the file.
  int rc = OpenExisting(a.store, /*read_only=*/!a.reset, "stats", &db);
  if (rc != 0) return rc;
  char* err = nullptr;
  char* out = nullptr;
  rc = a.reset ? convstore_reset_stats(db, &err) : convstore_stats(db, nullptr, &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("stats", rc, err);
  if (a.reset) {
    if (!a.json) std::printf("statistics reset\n");
    return 0;
  }
  if (a.json) std::printf("%s\n", out);
  else PrintTable(JsonView(out));
  convstore_free(out);
  return 0;
}

}  // namespace

void AddStatsCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "stats", "Per-operation calls, errors, rows and times, page cache, WAL and checkpoints (saved by handles when "
               "they close)");
  cmd->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "print the C API's JSON");
  cmd->add_flag("--reset", args->reset, "zero the saved statistics");
  cmd->callback([args, &run]() { run = [args]() { return Run(*args); }; });
}

}  // namespace convstore::cli
