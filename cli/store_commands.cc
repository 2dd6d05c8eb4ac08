// convstore init / info / check / changes / backups: a store file's life from a shell, through the C ABI so that
// --json prints exactly its records.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_support.h"
#include "progress_bar.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct StoreArgs {
  std::string store, directory, since, until;
  int64_t after_seq = 0;
  int64_t limit = 1000;
  double keep_days = 0;
  bool json = false;
  bool no_backup = false;
  bool vacuum = false;
};

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string Bytes(int64_t n) {
  char buf[32];
  if (n < 1024) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(n));
  else if (n < (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  else if (n < (1LL << 30)) std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  else std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(n) / (1LL << 30));
  return buf;
}

// The paths of the backups a migration took ("*.before-schema-*") in `dir`.
std::vector<std::string> MigrationBackups(const std::string& dir) {
  std::vector<std::string> paths;
  char* out = nullptr;
  char* err = nullptr;
  if (convstore_list_backups(dir.c_str(), &out, &err) != CONVSTORE_OK) {
    convstore_free(err);
    return paths;
  }
  const auto listing = nlohmann::json::parse(out, nullptr, false);
  if (listing.is_array())
    for (const auto& b : listing)
      if (b["path"].get<std::string>().find(".before-schema-") != std::string::npos)
        paths.push_back(b["path"].get<std::string>());
  convstore_free(out);
  return paths;
}

int RunInit(const StoreArgs& a) {
  const bool existed = FileExists(a.store);
  char* err = nullptr;
  int64_t from_version = 0;
  if (existed) {
    char* before = nullptr;
    if (const int rc = convstore_inspect_store(a.store.c_str(), &before, &err); rc != CONVSTORE_OK)
      return Failed("init", rc, err);
    from_version = JsonView(before).Int("schema_version");
    convstore_free(before);
  }
  const std::string dir = !a.directory.empty() ? a.directory
                          : a.store.rfind('/') == std::string::npos ? "."
                                                                   : a.store.substr(0, a.store.rfind('/') + 1);
  const auto backups_before = MigrationBackups(dir);
  std::unique_ptr<convstore_options_t, void (*)(convstore_options_t*)> options(convstore_options_create(),
                                                                            &convstore_options_destroy);
  std::string json = std::string(R"({"create_if_missing":true,"backup_before_migration":)") +
                     (a.no_backup ? "false" : "true");
  if (!a.directory.empty()) json += ",\"migration_backup_directory\":" + JsonString(a.directory);
  json += "}";
  int rc = convstore_options_set_json(options.get(), json.c_str(), &err);
  if (rc != CONVSTORE_OK) return Failed("init", rc, err);
  ProgressBar bar;
  convstore_options_set_progress(options.get(), &ProgressBar::Callback, &bar);
  convstore_t* db = nullptr;
  rc = convstore_open_with_options(a.store.c_str(), options.get(), &db, &err);
  bar.Finish();
  if (rc != CONVSTORE_OK) return Failed("init", rc, err);
  convstore_close(db);
  char* out = nullptr;
  rc = convstore_inspect_store(a.store.c_str(), &out, &err);
  if (rc != CONVSTORE_OK) return Failed("init", rc, err);
  JsonView info(out);
  const int64_t version = info.Int("schema_version");
  std::string backup;
  for (const auto& p : MigrationBackups(dir))
    if (std::find(backups_before.begin(), backups_before.end(), p) == backups_before.end()) backup = p;
  if (a.json) {
    std::printf("{\"path\":%s,\"created\":%s,\"schema_version\":%lld,\"migrated_from\":%s,\"backup\":%s}\n",
                JsonString(a.store).c_str(), existed ? "false" : "true", static_cast<long long>(version),
                existed && from_version != version ? std::to_string(from_version).c_str() : "null",
                backup.empty() ? "null" : JsonString(backup).c_str());
  } else if (!existed) {
    std::printf("created %s (schema version %lld, mode 0600)\n", a.store.c_str(), static_cast<long long>(version));
  } else if (from_version != version) {
    std::printf("migrated %s from schema version %lld to %lld\n", a.store.c_str(), static_cast<long long>(from_version),
                static_cast<long long>(version));
    if (!backup.empty()) std::printf("the file as it was, verified: %s\n", backup.c_str());
  } else {
    std::printf("opened the existing store %s (schema version %lld, up to date)\n", a.store.c_str(),
                static_cast<long long>(version));
  }
  convstore_free(out);
  return 0;
}

int RunInfo(const StoreArgs& a) {
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_inspect_store(a.store.c_str(), &out, &err);
  if (rc != CONVSTORE_OK) return Failed("info", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
    convstore_free(out);
    return 0;
  }
  JsonView info(out);
  const auto& j = info.json();
  std::printf("store      %s\n", a.store.c_str());
  std::printf("schema     version %lld (this build: %lld)", static_cast<long long>(info.Int("schema_version")),
              static_cast<long long>(info.Int("library_schema_version")));
  const auto& pending = j["pending_migrations"];
  if (pending.empty()) {
    std::printf(", up to date\n");
  } else {
    std::printf(", needs migrating; opening it read-write will run:\n");
    for (const auto& m : pending)
      std::printf("             %d %s%s\n", m["version"].get<int>(), m["name"].get<std::string>().c_str(),
                  m["rewrites_data"].get<bool>() ? " (rewrites data: a verified backup is taken first)" : "");
  }
  if (!info.Text("migration_in_progress").empty())
    std::printf("migrating  now: %s\n", info.Text("migration_in_progress").c_str());
  std::printf("file       %s (%lld pages of %lld B, %lld free)\n", Bytes(info.Int("file_bytes")).c_str(),
              static_cast<long long>(info.Int("page_count")), static_cast<long long>(info.Int("page_size")),
              static_cast<long long>(info.Int("freelist_pages")));
  std::printf("wal        %s\n", info.Int("wal_bytes") ? Bytes(info.Int("wal_bytes")).c_str() : "none");
  std::string rows;
  for (auto it = j["row_counts"].begin(); it != j["row_counts"].end(); ++it)
    if (it.value().get<int64_t>() > 0) rows += (rows.empty() ? "" : ", ") + it.key() + " " + it.value().dump();
  std::printf("rows       %s\n", rows.empty() ? "none" : rows.c_str());
  std::printf("cost       $%s\n", info.Text("cost_usd").c_str());
  const auto& journal = j["journal"];
  if (journal.is_null()) {
    std::printf("journal    none (schema before version 6)\n");
  } else {
    std::printf("journal    %s, %lld entries (seq %lld..%lld), %s of changes, %lld markers\n",
                journal["enabled"].get<bool>() ? "on" : "OFF", static_cast<long long>(journal["entries"].get<int64_t>()),
                static_cast<long long>(journal["first_seq"].get<int64_t>()),
                static_cast<long long>(journal["last_seq"].get<int64_t>()),
                Bytes(journal["bytes"].get<int64_t>()).c_str(), static_cast<long long>(journal["markers"].get<int64_t>()));
    for (const auto& c : journal["consumers"])
      std::printf("           consumer %s at entry %lld\n", c["name"].get<std::string>().c_str(),
                  static_cast<long long>(c["seq"].get<int64_t>()));
  }
  convstore_free(out);
  return 0;
}

int RunCheck(const StoreArgs& a) {
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_check_store(a.store.c_str(), &out, &err);
  if (rc != CONVSTORE_OK) return Failed("check", rc, err);
  JsonView check(out);
  const bool ok = check.Raw("ok") == "true";
  if (a.json) {
    std::printf("%s\n", out);
  } else if (ok) {
    std::printf("%s: ok (integrity, schema, cost rollups, metadata index)\n", a.store.c_str());
  } else {
    std::printf("%s: PROBLEMS\n", a.store.c_str());
    for (const auto& p : check.json()["problems"]) std::printf("  %s\n", p.get<std::string>().c_str());
  }
  convstore_free(out);
  return ok ? 0 : 3;
}

int RunChanges(const StoreArgs& a) {
  std::string query = "{\"after_seq\":" + std::to_string(a.after_seq) + ",\"limit\":" + std::to_string(a.limit);
  if (!a.since.empty()) query += ",\"since\":" + TimeJson(a.since);
  if (!a.until.empty()) query += ",\"until\":" + TimeJson(a.until);
  query += "}";
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = convstore_open(a.store.c_str(), R"({"read_only":true})", &db, &err);
  if (rc != CONVSTORE_OK) return Failed("changes", rc, err);
  char* out = nullptr;
  rc = convstore_describe_journal(db, query.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("changes", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    auto entries = nlohmann::json::parse(out, nullptr, false);
    if (entries.empty()) std::printf("no changes\n");
    for (const auto& e : entries) {
      bool first = true;
      for (const auto& line : e["lines"]) {
        if (first)
          std::printf("%s  #%-8lld %s\n", e["committed_at"].get<std::string>().c_str(),
                      static_cast<long long>(e["seq"].get<int64_t>()), line.get<std::string>().c_str());
        else
          std::printf("%*s%s\n", static_cast<int>(e["committed_at"].get<std::string>().size()) + 12, "",
                      line.get<std::string>().c_str());
        first = false;
      }
    }
  }
  convstore_free(out);
  return 0;
}

int RunBackups(const StoreArgs& a) {
  const bool archive = FileExists(a.directory + "/archive.json");
  char* out = nullptr;
  char* err = nullptr;
  int64_t removed = -1;
  if (a.keep_days > 0) {
    const auto keep_s = static_cast<int64_t>(a.keep_days * 86400);
    const int rc = archive ? convstore_prune_archive(a.directory.c_str(), keep_s, &out, &err)
                           : convstore_prune_backups(a.directory.c_str(), keep_s, &out, &err);
    if (rc != CONVSTORE_OK) return Failed("backups", rc, err);
    removed = JsonView(out).Int("removed");
    convstore_free(out);
    out = nullptr;
  }
  const int rc = archive ? convstore_list_archive(a.directory.c_str(), &out, &err)
                         : convstore_list_backups(a.directory.c_str(), &out, &err);
  if (rc != CONVSTORE_OK) return Failed("backups", rc, err);
  if (a.json) {
    if (removed >= 0) std::printf("{\"removed\":%lld,\"listing\":%s}\n", static_cast<long long>(removed), out);
    else std::printf("%s\n", out);
    convstore_free(out);
    return 0;
  }
  if (removed >= 0) std::printf("removed %lld files older than %g days\n", static_cast<long long>(removed), a.keep_days);
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (archive) {
    std::printf("archive %s%s\n", a.directory.c_str(), j["encrypted"].get<bool>() ? " (encrypted)" : "");
    for (const auto& g : j["generations"]) {
      std::printf("generation %s: entries %lld..%lld (last commit %s), %lld segments, %s\n",
                  g["id"].get<std::string>().c_str(), static_cast<long long>(g["first_seq"].get<int64_t>()),
                  static_cast<long long>(g["last_seq"].get<int64_t>()), g["last_committed_at"].get<std::string>().c_str(),
                  static_cast<long long>(g["segments"].get<int64_t>()), Bytes(g["segment_bytes"].get<int64_t>()).c_str());
      for (const auto& b : g["base_backups"])
        std::printf("  base %s  entry %-8lld %10s  %s\n", b["created_at"].get<std::string>().c_str(),
                    static_cast<long long>(b["journal_seq"].get<int64_t>()), Bytes(b["bytes"].get<int64_t>()).c_str(),
                    b["path"].get<std::string>().c_str());
      for (const auto& p : g["problems"]) std::printf("  PROBLEM: %s\n", p.get<std::string>().c_str());
    }
  } else {
    if (j.empty()) std::printf("no backups in %s\n", a.directory.c_str());
    for (const auto& b : j) {
      const auto& m = b["manifest"];
      std::printf("%s  %10s  entry %-8lld %s%s%s\n", m["created_at"].get<std::string>().c_str(),
                  Bytes(m["bytes"].get<int64_t>()).c_str(), static_cast<long long>(m["journal_seq"].get<int64_t>()),
                  b["path"].get<std::string>().c_str(), m["encrypted"].get<bool>() ? "  (encrypted)" : "",
                  b["present"].get<bool>() ? "" : "  MISSING");
    }
  }
  convstore_free(out);
  return 0;
}

}  // namespace

int RunOptimize(const StoreArgs& a) {
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/false, "optimize", &db);
  if (rc != 0) return rc;
  ProgressBar bar;
  char* out = nullptr;
  rc = convstore_optimize(db, a.vacuum ? R"({"vacuum":true})" : "{}", &ProgressBar::Callback, &bar, &out, &err);
  bar.Finish();
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("optimize", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    const JsonView v(out);
    std::printf("%s: %lld -> %lld bytes; %lld free pages given back%s; auto-vacuum %s; WAL %s (%lld frames copied) "
                "in %.1f s\n",
                a.store.c_str(), static_cast<long long>(v.Int("bytes_before")),
                static_cast<long long>(v.Int("bytes_after")), static_cast<long long>(v.Int("pages_released")),
                v.json().value("vacuumed", false) ? ", the file rewritten (VACUUM)" : "", v.Text("auto_vacuum").c_str(),
                v.json().value("wal_truncated", false) ? "emptied" : "not emptied: a reader in another process holds it",
                static_cast<long long>(v.Int("wal_frames_checkpointed")),
                static_cast<double>(v.Int("duration_us")) / 1e6);
    if (!a.vacuum && v.Text("auto_vacuum") == "none" && v.Int("free_pages_after") > 0)
      std::printf("this file was created before incremental auto-vacuum: `convstore optimize --vacuum` gives its %lld "
                  "free pages back\n",
                  static_cast<long long>(v.Int("free_pages_after")));
  }
  convstore_free(out);
  return 0;
}

void AddStoreCommands(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<StoreArgs>();
  CLI::App* init = app.add_subcommand(
      "init", "Create STORE (0600) with the current schema, or migrate an existing one (a migration that rewrites "
              "data first writes a verified backup of the file beside it).");
  init->add_option("store", args->store, "the convstore file")->required();
  init->add_flag("--no-backup", args->no_backup, "migrate without the verified backup first");
  init->add_option("--backup-dir", args->directory, "an existing directory for that backup (default: the store's)");
  init->add_flag("--json", args->json, "print the result as JSON");
  init->callback([args, &run]() { run = [args]() { return RunInit(*args); }; });

  CLI::App* info = app.add_subcommand(
      "info", "Schema version (and the migrations opening it would run), sizes, WAL, row counts, cost and the change "
              "journal's state of STORE, read without changing it.");
  info->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  info->add_flag("--json", args->json, "print the facts as JSON");
  info->callback([args, &run]() { run = [args]() { return RunInfo(*args); }; });

  CLI::App* check = app.add_subcommand(
      "check", "Check STORE while writers go on: integrity, schema, cost rollups, metadata index. Exit code 0: ok; "
               "3: problems found (listed); 1: it could not be checked.");
  check->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  check->add_flag("--json", args->json, "print the result as JSON");
  check->callback([args, &run]() { run = [args]() { return RunCheck(*args); }; });

  CLI::App* changes = app.add_subcommand(
      "changes", "What changed in STORE, in words, from its change journal (e.g. since an accident).");
  changes->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  changes->add_option("--since", args->since, "commits at or after this time (ISO-8601 with an offset, or µs)");
  changes->add_option("--until", args->until, "commits at or before this time");
  changes->add_option("--after-seq", args->after_seq, "entries after this sequence number")->check(CLI::NonNegativeNumber);
  changes->add_option("--limit", args->limit, "at most this many entries (1..10000, default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  changes->add_flag("--json", args->json, "print the entries as JSON");
  changes->callback([args, &run]() { run = [args]() { return RunChanges(*args); }; });

  CLI::App* backups = app.add_subcommand(
      "backups", "List the backups in DIR (with times and sizes), or the generations of an archive directory; "
                 "--keep-days N first removes what is older (never the newest backup; an archive keeps the last N "
                 "days restorable).");
  backups->add_option("directory", args->directory, "a directory of backups, or an archive")->required()
      ->check(CLI::ExistingDirectory);
  backups->add_option("--keep-days", args->keep_days, "remove backups older than N days")->check(CLI::PositiveNumber);
  backups->add_flag("--json", args->json, "print the listing as JSON");
  backups->callback([args, &run]() { run = [args]() { return RunBackups(*args); }; });
  CLI::App* optimize = app.add_subcommand(
      "optimize", "Maintenance: planner statistics, free pages given back to the file system, the WAL checkpointed and "
                  "emptied; --vacuum first rewrites the whole file (converting an older file; writers wait)");
  optimize->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  optimize->add_flag("--vacuum", args->vacuum, "rewrite the whole file (VACUUM), with progress");
  optimize->add_flag("--json", args->json, "print the C API's JSON");
  optimize->callback([args, &run]() { run = [args]() { return RunOptimize(*args); }; });
}

}  // namespace convstore::cli
