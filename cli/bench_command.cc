// convstore bench: the microbenchmark users would otherwise write. On scratch stores in a directory of the disk to
// measure, each workload (bench/workloads.h) runs convstore and its raw-SQLite baseline in alternating blocks, every
// call timed; prints latency percentiles and throughput side by side (or --json), then removes the scratch files.
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/runner.h"
#include "bench/workloads.h"
#include "commands.h"
#include "convstore/store.h"

namespace convstore::cli {

namespace {

struct BenchArgs {
  std::string dir;
  double seconds = 60;
  int rounds = 5;
  std::string only;
  int message_bytes = 400;
  int batch = 100;
  int writers = 4;
  bool full_sync = false, json = false, keep = false;
};

struct Ran {
  bench::Workload workload;
  bench::WorkloadResult result;
};

nlohmann::json SideJson(const bench::SideResult& s) {
  const auto& l = s.latency;
  return {{"calls", l.calls},         {"seconds", l.seconds}, {"calls_per_second", l.calls_per_second},
          {"items_per_second", s.items_per_second},           {"p50_us", l.p50_us},
          {"p90_us", l.p90_us},       {"p99_us", l.p99_us},   {"p999_us", l.p999_us},
          {"max_us", l.max_us},       {"mean_us", l.mean_us}};
}

double Ratio(const bench::WorkloadResult& r) {
  return r.raw.items_per_second > 0 ? r.convstore.items_per_second / r.raw.items_per_second : 0;
}

void PrintSide(const char* name, const char* side, const bench::SideResult& s, const std::string& ratio) {
  const auto& l = s.latency;
  std::printf("%-19s %-10s %9lld %10.0f %11.0f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %7s\n", name, side,
              static_cast<long long>(l.calls), l.calls_per_second, s.items_per_second, l.p50_us, l.p90_us, l.p99_us,
              l.p999_us, l.max_us, l.mean_us, ratio.c_str());
}

void PrintTable(const BenchArgs& a, const std::string& dir, const std::vector<Ran>& ran) {
  std::printf("convstore %s, SQLite %s, %u cores; stores in %s; %d rounds, %d-byte messages%s\n\n",
              std::string(Version()).c_str(), sqlite3_libversion(), std::thread::hardware_concurrency(), dir.c_str(),
              a.rounds, a.message_bytes, a.full_sync ? ", every commit synced" : "");
  std::printf("%-19s %-10s %9s %10s %11s %9s %9s %9s %9s %9s %9s %7s\n", "workload", "side", "calls", "calls/s",
              "items/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "mean µs", "vs raw");
  for (const Ran& r : ran) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2f×", Ratio(r.result));
    PrintSide(r.workload.name.c_str(), "convstore", r.result.convstore, ratio);
    PrintSide("", "raw", r.result.raw, "");
  }
  std::printf("\nvs raw: convstore's items/s over the baseline's (higher is better). Items: messages written, rows "
              "read, hits or summaries per call. Calls alternate between the sides in blocks; every call is timed.\n\n");
  for (const Ran& r : ran) {
    std::printf("%-19s convstore: %s\n", r.workload.name.c_str(), r.workload.convstore.c_str());
    std::printf("%-19s raw:       %s\n", "", r.workload.raw.c_str());
  }
}

int Run(const BenchArgs& a) {
  std::vector<std::string> names;
  if (a.only.empty()) {
    names = bench::WorkloadNames();
  } else {
    std::stringstream list(a.only);
    for (std::string name; std::getline(list, name, ',');) {
      bool known = false;
      for (const auto& n : bench::WorkloadNames()) known = known || n == name;
      if (!known) {
        std::string all;
        for (const auto& n : bench::WorkloadNames()) all += (all.empty() ? "" : ", ") + n;
        std::fprintf(stderr, "convstore bench: unknown workload '%s' (the workloads: %s)\n", name.c_str(), all.c_str());
        return 2;
      }
      names.push_back(name);
    }
  }
  std::error_code ec;
  const std::string parent = a.dir.empty() ? std::filesystem::temp_directory_path(ec).string() : a.dir;
  if (!std::filesystem::is_directory(parent, ec)) {
    std::fprintf(stderr, "convstore bench: %s is not a directory\n", parent.c_str());
    return 2;
  }
  std::string pattern = parent + "/convstore-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "convstore bench: cannot make a scratch directory in %s\n", parent.c_str());
    return 1;
  }
  const std::string dir = pattern;
  // Warm-up (half a block per workload) and the rounds share the time asked for.
  const double block = a.seconds / (static_cast<double>(names.size()) * (2.0 * a.rounds + 0.5));
  std::vector<Ran> ran;
  int code = 0;
  try {
    bench::Workloads workloads({dir, a.message_bytes, a.batch, a.writers, a.full_sync});
    for (size_t k = 0; k < names.size(); ++k) {
      std::fprintf(stderr, "convstore bench: %s (%zu of %zu)\n", names[k].c_str(), k + 1, names.size());
      bench::Workload w = workloads.Get(names[k]);
      bench::WorkloadResult result = bench::RunWorkload(w, a.rounds, block);
      w.open = nullptr;  // closes the workload's handles before the next one runs
      ran.push_back({std::move(w), result});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convstore bench: %s\n", e.what());
    code = 1;
  }
  if (!a.keep) std::filesystem::remove_all(dir, ec);
  if (code != 0) return code;
  if (a.json) {
    nlohmann::json out = {{"convstore_version", std::string(Version())},
                          {"sqlite_version", sqlite3_libversion()},
                          {"cores", std::thread::hardware_concurrency()},
                          {"directory", a.keep ? dir : parent},
                          {"rounds", a.rounds},
                          {"message_bytes", a.message_bytes},
                          {"full_sync", a.full_sync},
                          {"workloads", nlohmann::json::array()}};
    for (const Ran& r : ran)
      out["workloads"].push_back({{"name", r.workload.name},
                                  {"convstore_call", r.workload.convstore},
                                  {"raw_call", r.workload.raw},
                                  {"item", r.workload.item},
                                  {"items_per_call", r.workload.items_per_call},
                                  {"workers", r.workload.workers},
                                  {"processes", r.workload.processes},
                                  {"convstore", SideJson(r.result.convstore)},
                                  {"raw", SideJson(r.result.raw)},
                                  {"ratio", Ratio(r.result)}});
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    PrintTable(a, a.keep ? dir : parent, ran);
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Latency percentiles and throughput of inserts, concurrent writers, reads and searches, each next to "
               "raw SQLite doing the same work, on scratch stores in a directory you choose");
  cmd->add_option("--dir", args->dir, "where the scratch stores go (the disk measured); default: the temp directory")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--seconds", args->seconds, "time to spend measuring, all workloads together")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--rounds", args->rounds, "blocks per side and workload, alternating between the sides")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--only", args->only, "comma-separated workloads (default: all)");
  cmd->add_option("--message-bytes", args->message_bytes, "content per message")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "messages per insert_batch call")
      ->check(CLI::Range(2, 10000))
      ->capture_default_str();
  cmd->add_option("--writers", args->writers, "threads or processes of the writers workloads")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  cmd->add_flag("--full-sync", args->full_sync, "sync every commit on both sides (durability full / synchronous=FULL)");
  cmd->add_flag("--keep", args->keep, "keep the scratch stores");
  cmd->add_flag("--json", args->json, "print JSON instead of the table");
  cmd->callback([args, &run]() { run = [args]() { return Run(*args); }; });
}

}  // namespace convstore::cli
