// convstore archive: ships a store's change journal into an archive directory, like `litestream replicate` —
// continuously until interrupted, or one round with --once (convstore/ops.h, "the archive").
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct ArchiveArgs {
  std::string store, directory, key_file;
  int64_t interval_ms = 1000;
  int64_t base_every_s = 86400;
  double keep_days = 0;
  bool once = false;
  bool json = false;
};

std::string OptionsJson(const ArchiveArgs& a, const std::string& key) {
  std::string o = "{\"directory\":" + JsonString(a.directory) + ",\"interval_ms\":" + std::to_string(a.interval_ms) +
                  ",\"base_backup_interval_s\":" + std::to_string(a.base_every_s);
  if (a.keep_days > 0) o += ",\"keep_s\":" + std::to_string(static_cast<int64_t>(a.keep_days * 86400));
  if (!key.empty()) o += ",\"encryption_key\":" + JsonString(key);
  return o + "}";
}

void PrintReport(const ArchiveArgs& a, const char* report_json, const char* what) {
  if (a.json) {
    std::printf("%s\n", report_json);
    return;
  }
  JsonView r(report_json);
  std::printf("%s %s into %s: %lld entries in %lld segments (%lld bytes)%s%s; archive at journal entry %lld "
              "(committed %s)\n",
              what, a.store.c_str(), a.directory.c_str(), static_cast<long long>(r.Int("entries_shipped")),
              static_cast<long long>(r.Int("segments_written")), static_cast<long long>(r.Int("bytes_written")),
              r.Raw("new_generation") == "true" ? ", new generation " : "",
              r.Raw("new_generation") == "true" ? r.Text("generation").c_str() : "",
              static_cast<long long>(r.Int("archived_seq")), r.Text("archived_at").c_str());
}

int RunArchive(const ArchiveArgs& a) {
  std::string key;
  if (!ReadKey(a.key_file, &key, "archive")) return 1;
  const std::string options = OptionsJson(a, key);
  // Block the signals before the archiver's thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (!a.once) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/false, "archive", &db);
  if (rc != 0) return rc;
  char* out = nullptr;
  if (a.once) {
    rc = convstore_archive_now(db, options.c_str(), &out, &err);
    convstore_close(db);
    if (rc != CONVSTORE_OK) return Failed("archive", rc, err);
    PrintReport(a, out, "archived");
    convstore_free(out);
    return 0;
  }
  rc = convstore_start_archiving(db, options.c_str(), &err);
  if (rc != CONVSTORE_OK) {
    convstore_close(db);
    return Failed("archive", rc, err);
  }
  if (!a.json)
    std::fprintf(stderr, "archiving %s into %s every %lld ms; Ctrl-C (SIGINT) or SIGTERM stops after a last round\n",
                 a.store.c_str(), a.directory.c_str(), static_cast<long long>(a.interval_ms));
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  rc = convstore_stop_archiving(db, &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("archive", rc, err);
  PrintReport(a, out, "stopped archiving");
  convstore_free(out);
  return 0;
}

}  // namespace

void AddArchiveCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<ArchiveArgs>();
  CLI::App* archive = app.add_subcommand(
      "archive",
      "Ship STORE's change journal into the archive directory DIR every --interval-ms until SIGINT or SIGTERM (a "
      "last round then ships everything committed), with base backups every --base-every seconds; --once runs one "
      "round. `convstore restore DIR TARGET --to TIME` restores from it.");
  archive->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  archive->add_option("directory", args->directory, "the archive directory (created 0700 when missing)")->required();
  archive->add_option("--interval-ms", args->interval_ms, "ship new journal entries this often (default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{3'600'000}));
  archive->add_option("--base-every", args->base_every_s, "seconds between base backups (default 86400)")
      ->check(CLI::Range(int64_t{1}, int64_t{100LL * 365 * 86400}));
  archive->add_option("--keep-days", args->keep_days,
                      "retention: keep every instant of the last N days restorable, remove older files")
      ->check(CLI::PositiveNumber);
  archive->add_option("--key-file", args->key_file, "encrypt with AES-256-GCM under the key in this file (64 hex)");
  archive->add_flag("--once", args->once, "one round, then exit");
  archive->add_flag("--json", args->json, "print the report as JSON");
  archive->callback([args, &run]() { run = [args]() { return RunArchive(*args); }; });
}

}  // namespace convstore::cli
