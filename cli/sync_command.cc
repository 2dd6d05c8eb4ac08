// convstore sync: streams a store into PostgreSQL — continuously until interrupted, reporting the lag as it goes,
// or one round with --once (convstore/sync.h; docs/sync.md).
#include <signal.h>
#include <time.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct SyncArgs {
  std::string store, postgres, schema = "public", label;
  int64_t interval_ms = 250;
  int64_t batch = 1000;
  int64_t report_every_s = 10;
  bool once = false;
  bool json = false;
};

std::string OptionsJson(const SyncArgs& a) {
  std::string o = "{\"postgres\":" + JsonString(a.postgres) + ",\"schema\":" + JsonString(a.schema) +
                  ",\"interval_ms\":" + std::to_string(a.interval_ms) + ",\"batch_entries\":" + std::to_string(a.batch);
  if (!a.label.empty()) o += ",\"label\":" + JsonString(a.label);
  return o + "}";
}

void PrintReport(const SyncArgs& a, const char* report_json, const char* what) {
  if (a.json) {
    std::printf("%s\n", report_json);
    return;
  }
  JsonView r(report_json);
  std::string loaded;
  if (r.Raw("loaded") == "true")
    loaded = "loaded " + std::to_string(r.Int("rows_loaded")) + " rows (" + r.Text("load_reason") + "), ";
  std::printf("%s %s (store %s): %s%lld journal entries applied (%lld row changes, %lld to dead letters); "
              "PostgreSQL at journal entry %lld, %lld pending, lag %.3f s\n",
              what, a.store.c_str(), r.Text("store_id").c_str(), loaded.c_str(),
              static_cast<long long>(r.Int("entries_applied")), static_cast<long long>(r.Int("changes_applied")),
              static_cast<long long>(r.Int("dead_letters")), static_cast<long long>(r.Int("position")),
              static_cast<long long>(r.Int("pending_entries")), static_cast<double>(r.Int("lag_us")) / 1e6);
}

// One line on stderr: where the sync is, its lag, and its last error while failing.
void PrintStatus(convstore_t* db, const SyncArgs& a) {
  char* out = nullptr;
  char* err = nullptr;
  if (convstore_sync_status(db, &out, &err) != CONVSTORE_OK) {
    convstore_free(err);
    return;
  }
  if (a.json) {
    std::fprintf(stderr, "%s\n", out);
  } else {
    JsonView s(out);
    JsonView t(std::string(s.Raw("totals")).c_str());
    std::fprintf(stderr, "sync: journal entry %lld in PostgreSQL, %lld pending, lag %.3f s, %lld applied, %lld dead "
                         "letters%s%s\n",
                 static_cast<long long>(t.Int("position")), static_cast<long long>(t.Int("pending_entries")),
                 static_cast<double>(t.Int("lag_us")) / 1e6, static_cast<long long>(t.Int("entries_applied")),
                 static_cast<long long>(t.Int("dead_letters")),
                 s.Int("consecutive_failures") > 0 ? "; failing, retrying: " : "",
                 s.Int("consecutive_failures") > 0 ? s.Text("last_error").c_str() : "");
  }
  convstore_free(out);
}

int RunSync(const SyncArgs& a) {
  const std::string options = OptionsJson(a);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (!a.once) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/false, "sync", &db);
  if (rc != 0) return rc;
  char* out = nullptr;
  if (a.once) {
    rc = convstore_sync_to_postgres(db, options.c_str(), &out, &err);
    convstore_close(db);
    if (rc != CONVSTORE_OK) return Failed("sync", rc, err);
    PrintReport(a, out, "synced");
    convstore_free(out);
    return 0;
  }
  rc = convstore_start_sync(db, options.c_str(), &err);
  if (rc != CONVSTORE_OK) {
    convstore_close(db);
    return Failed("sync", rc, err);
  }
  if (!a.json)
    std::fprintf(stderr, "syncing %s into PostgreSQL every %lld ms; Ctrl-C (SIGINT) or SIGTERM stops after a last "
                         "round\n",
                 a.store.c_str(), static_cast<long long>(a.interval_ms));
  for (;;) {
    timespec wait{static_cast<time_t>(a.report_every_s), 0};
    if (sigtimedwait(&stop_signals, nullptr, &wait) >= 0) break;
    PrintStatus(db, a);
  }
  rc = convstore_stop_sync(db, &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("sync", rc, err);
  PrintReport(a, out, "stopped syncing");
  convstore_free(out);
  return 0;
}

}  // namespace

void AddSyncCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<SyncArgs>();
  CLI::App* sync = app.add_subcommand(
      "sync",
      "Stream STORE into PostgreSQL (the seed chapter's schema: conversations, messages, users, teams, tool_calls, "
      "api_usage, ...) every --interval-ms until SIGINT or SIGTERM (a last round then syncs everything committed), "
      "printing the lag every --report-every seconds; --once runs one round. The first round loads the whole "
      "store; after a failure the next round waits longer (up to 30 s).");
  sync->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  sync->add_option("--postgres", args->postgres,
                   "libpq connection string or URI, e.g. postgresql://sync@db/agents (passwords: ~/.pgpass or "
                   "PGPASSWORD)")
      ->required();
  sync->add_option("--schema", args->schema, "the PostgreSQL schema holding the tables (default public)");
  sync->add_option("--interval-ms", args->interval_ms, "apply new journal entries this often (default 250)")
      ->check(CLI::Range(int64_t{1}, int64_t{3'600'000}));
  sync->add_option("--batch", args->batch, "journal entries per PostgreSQL transaction (default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  sync->add_option("--label", args->label, "how convstore_stores names this store (default <host>:<path>)");
  sync->add_option("--report-every", args->report_every_s, "seconds between status lines (default 10)")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400}));
  sync->add_flag("--once", args->once, "one round, then exit");
  sync->add_flag("--json", args->json, "print reports (and status lines) as JSON");
  sync->callback([args, &run]() { run = [args]() { return RunSync(*args); }; });
}

}  // namespace convstore::cli
