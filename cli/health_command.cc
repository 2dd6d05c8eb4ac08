// convstore health: the store's health checks (convstore/monitoring.h, docs/monitoring.md "Health") for monitoring
// scripts, with the exit codes of a Nagios plugin: 0 ok, 1 warn, 2 fail, 3 the checks could not be made.
#include <cstdio>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

constexpr int kUnknown = 3;

struct HealthArgs {
  std::string store;
  bool json = false, no_quick_check = false;
  std::vector<std::string> thresholds;  // NAME=NUMBER
};

// The options' JSON; "" after printing why a threshold does not parse.
std::string OptionsJson(const HealthArgs& a) {
  std::string json = std::string("{\"quick_check\":") + (a.no_quick_check ? "false" : "true");
  for (const std::string& t : a.thresholds) {
    const size_t eq = t.find('=');
    const std::string name = eq == std::string::npos ? t : t.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : t.substr(eq + 1);
    const nlohmann::json number = nlohmann::json::parse(value, nullptr, false);
    if (name.empty() || !number.is_number()) {
      std::fprintf(stderr, "convstore health: --threshold takes NAME=NUMBER (wal_warn_bytes=67108864), not '%s'\n",
                   t.c_str());
      return "";
    }
    json += "," + JsonString(name) + ":" + number.dump();
  }
  return json + "}";
}

int ExitCodeOf(const std::string& level) {
  if (level == "ok") return 0;
  if (level == "warn") return 1;
  if (level == "fail") return 2;
  return kUnknown;
}

void PrintChecks(const JsonView& report) {
  std::string level = report.Text("level");
  for (char& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::printf("health: %s (checked %s)\n", level.c_str(), report.Text("checked_at").c_str());
  for (const auto& c : report.json()["checks"]) {
    JsonView v(c);
    std::printf("  %-4s  %-12s %s\n", v.Text("level").c_str(), v.Text("name").c_str(), v.Text("message").c_str());
  }
}

int Run(const HealthArgs& a) {
  const std::string options = OptionsJson(a);
  if (options.empty()) return kUnknown;
  convstore_t* db = nullptr;
  if (OpenExisting(a.store, /*read_only=*/true, "health", &db) != 0) return kUnknown;
  char* err = nullptr;
  char* out = nullptr;
  const int rc = convstore_check_health(db, options.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) {
    Failed("health", rc, err);
    return kUnknown;
  }
  const JsonView report(out);
  if (a.json) std::printf("%s\n", out);
  else PrintChecks(report);
  convstore_free(out);
  return ExitCodeOf(report.Text("level"));
}

}  // namespace

void AddHealthCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<HealthArgs>();
  CLI::App* cmd = app.add_subcommand(
      "health", "Health checks with ok/warn/fail and the numbers behind them; exit 0 ok, 1 warn, 2 fail, 3 unknown");
  cmd->add_option("store", args->store, "the convstore file")->required();
  cmd->add_flag("--json", args->json, "print the C API's JSON");
  cmd->add_flag("--no-quick-check", args->no_quick_check, "skip SQLite's quick_check (it reads every page)");
  cmd->add_option("--threshold", args->thresholds,
                  "NAME=NUMBER, e.g. wal_warn_bytes=67108864 or budget_warn_fraction=0.9 (repeatable; names in "
                  "docs/monitoring.md)");
  cmd->callback([args, &run]() { run = [args]() { return Run(*args); }; });
}

}  // namespace convstore::cli
