// convstore retention show|set|apply: how long the store keeps what it holds (convstore/retention.h;
// docs/operations.md, "Retention").
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

// The policy's kinds: the option's name, the JSON field, and the argument given ("" when not given).
struct Kind {
  const char* option;
  const char* field;
  std::string value;
};

struct RetentionArgs {
  std::string store;
  Kind kinds[5] = {{"--conversations-idle-days", "conversations_idle_us", ""},
                   {"--api-usage-days", "api_usage_us", ""},
                   {"--metrics-days", "metrics_us", ""},
                   {"--audit-days", "audit_us", ""},
                   {"--journal-days", "journal_us", ""}};
  int64_t batch_rows = 1000;
  bool json = false;
};

constexpr double kMicrosPerDay = 86'400'000'000.0;

// The kinds given on the command line as a policy object: "forever" -> null, N days (fractions allowed) -> µs.
// nullopt (the problem printed) for an argument that is neither.
std::optional<nlohmann::json> AgesGiven(const RetentionArgs& a, const char* command) {
  nlohmann::json ages = nlohmann::json::object();
  for (const Kind& k : a.kinds) {
    if (k.value.empty()) continue;
    if (k.value == "forever") {
      ages[k.field] = nullptr;
      continue;
    }
    char* end = nullptr;
    const double days = std::strtod(k.value.c_str(), &end);
    if (*end != '\0' || !std::isfinite(days) || days <= 0 || days > 36'525) {
      std::fprintf(stderr, "convstore %s: %s must be a number of days (0 < N <= 36525) or \"forever\"\n", command,
                   k.option);
      return std::nullopt;
    }
    ages[k.field] = static_cast<int64_t>(std::llround(days * kMicrosPerDay));
  }
  return ages;
}

std::string Days(const nlohmann::json& v) {
  if (!v.is_number_integer()) return "forever";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g days", static_cast<double>(v.get<int64_t>()) / kMicrosPerDay);
  return buf;
}

int Open(const RetentionArgs& a, bool read_only, const char* command, convstore_t** db) {
  return OpenExisting(a.store, read_only, command, db);
}

void PrintPolicy(const char* text) {
  JsonView p(text);
  const RetentionArgs names;
  for (const Kind& k : names.kinds) {
    const auto it = p.json().find(k.field);
    std::printf("%-24s %s\n", k.option + 2, it == p.json().end() ? "forever" : Days(*it).c_str());
  }
}

int Show(const RetentionArgs& a) {
  convstore_t* db = nullptr;
  if (int rc = Open(a, true, "retention show", &db)) return rc;
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_get_retention_policy(db, &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("retention show", rc, err);
  if (a.json)
    std::printf("%s\n", out);
  else
    PrintPolicy(out);
  convstore_free(out);
  return 0;
}

// Changes the kinds given and keeps the others as stored.
int Set(const RetentionArgs& a) {
  const char* command = "retention set";
  const auto changes = AgesGiven(a, command);
  if (!changes) return 2;
  if (changes->empty()) {
    std::fprintf(stderr, "convstore %s: give at least one of the --*-days options\n", command);
    return 2;
  }
  convstore_t* db = nullptr;
  if (int rc = Open(a, false, command, &db)) return rc;
  char* out = nullptr;
  char* err = nullptr;
  int rc = convstore_get_retention_policy(db, &out, &err);
  if (rc == CONVSTORE_OK) {
    nlohmann::json policy = nlohmann::json::parse(out);
    convstore_free(out);
    out = nullptr;
    policy.update(*changes);
    rc = convstore_set_retention_policy(db, policy.dump().c_str(), &err);
    if (rc == CONVSTORE_OK) rc = convstore_get_retention_policy(db, &out, &err);
  }
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed(command, rc, err);
  if (a.json)
    std::printf("%s\n", out);
  else
    PrintPolicy(out);
  convstore_free(out);
  return 0;
}

// Progress on standard error when it is a terminal: the rows removed so far.
void ShowProgress(void*, const char* kind, int64_t done, int64_t) {
  static const bool tty = isatty(2) == 1;
  if (!tty) return;
  std::fprintf(stderr, "\rretention: %-14s %lld rows removed", kind, static_cast<long long>(done));
  std::fflush(stderr);
}

int Apply(const RetentionArgs& a) {
  const char* command = "retention apply";
  const auto policy = AgesGiven(a, command);
  if (!policy) return 2;
  nlohmann::json options = {{"batch_rows", a.batch_rows}};
  if (!policy->empty()) options["policy"] = *policy;
  convstore_t* db = nullptr;
  if (int rc = Open(a, false, command, &db)) return rc;
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_apply_retention(db, options.dump().c_str(), ShowProgress, nullptr, &out, &err);
  if (isatty(2) == 1) std::fprintf(stderr, "\n");
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed(command, rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    JsonView r(out);
    std::printf("removed %lld conversations (%lld messages, %lld tool calls, %lld tombstones), %lld API usage rows, "
                "%lld metric points, %lld audit entries, %lld journal entries\n",
                static_cast<long long>(r.Int("conversations")), static_cast<long long>(r.Int("messages")),
                static_cast<long long>(r.Int("tool_calls")), static_cast<long long>(r.Int("tombstones")),
                static_cast<long long>(r.Int("api_usage")), static_cast<long long>(r.Int("metrics")),
                static_cast<long long>(r.Int("audit_entries")), static_cast<long long>(r.Int("journal_entries")));
    std::printf("%lld batches, the longest %.1f ms; %.1f ms in all\n", static_cast<long long>(r.Int("batches")),
                static_cast<double>(r.Int("longest_batch_us")) / 1000.0,
                static_cast<double>(r.Int("duration_us")) / 1000.0);
  }
  convstore_free(out);
  return 0;
}

}  // namespace

void AddRetentionCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<RetentionArgs>();
  CLI::App* cmd = app.add_subcommand("retention", "How long the store keeps data: show, set, apply.");
  cmd->require_subcommand(1);
  CLI::App* show = cmd->add_subcommand("show", "Print the stored policy");
  show->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  show->add_flag("--json", args->json, "print the C API's JSON (ages in µs, null: forever)");
  show->callback([args, &run]() { run = [args]() { return Show(*args); }; });
  CLI::App* set = cmd->add_subcommand("set", "Change the stored policy (kinds not given stay as they are)");
  set->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  CLI::App* apply = cmd->add_subcommand("apply", "Apply the stored policy now, in bounded batches");
  apply->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  apply->add_option("--batch-rows", args->batch_rows, "rows removed per transaction (1-100000; default 1000)");
  for (Kind& k : args->kinds) {
    set->add_option(k.option, k.value, "days (fractions allowed) or \"forever\"");
    apply->add_option(k.option, k.value, "instead of the stored policy, for this run");
  }
  set->add_flag("--json", args->json, "print the C API's JSON");
  apply->add_flag("--json", args->json, "print the C API's JSON");
  set->callback([args, &run]() { run = [args]() { return Set(*args); }; });
  apply->callback([args, &run]() { run = [args]() { return Apply(*args); }; });
}

}  // namespace convstore::cli
