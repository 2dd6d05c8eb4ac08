// convstore backup / verify / restore: backups of a store file (convstore/ops.h), through the C ABI so that --json
// prints exactly its records.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "convstore/convstore.h"
#include "cli_support.h"
#include "progress_bar.h"

namespace convstore::cli {

namespace {

struct BackupArgs {
  std::string store, backup, target, key_file, to_time, generation;
  int64_t to_seq = -1;
  bool json = false;
};

int RunBackup(const BackupArgs& a) {
  std::string key;
  if (!ReadKey(a.key_file, &key, "backup")) return 1;
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/false, "backup", &db);
  if (rc != 0) return rc;
  std::string options = "{\"path\":" + JsonString(a.backup);
  if (!key.empty()) options += ",\"encryption_key\":" + JsonString(key);
  options += "}";
  char* out = nullptr;
  {
    ProgressBar bar;
    rc = convstore_backup(db, options.c_str(), &ProgressBar::Callback, &bar, &out, &err);
  }
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("backup", rc, err);
  if (a.json) std::printf("%s\n", out);
  else std::printf("backed up %s to %s (manifest %s.manifest.json)\n", a.store.c_str(), a.backup.c_str(), a.backup.c_str());
  convstore_free(out);
  return 0;
}

int RunVerify(const BackupArgs& a) {
  std::string key;
  if (!ReadKey(a.key_file, &key, "verify")) return 1;
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_verify_backup(a.backup.c_str(), key.empty() ? nullptr : key.c_str(), &out, &err);
  if (rc != CONVSTORE_OK) return Failed("verify", rc, err);
  const bool ok = std::string(out).rfind("{\"ok\":true", 0) == 0;
  if (a.json) std::printf("%s\n", out);
  else if (ok) std::printf("%s: ok\n", a.backup.c_str());
  else std::printf("%s: DAMAGED (details: convstore verify --json)\n", a.backup.c_str());
  convstore_free(out);
  return ok ? 0 : 3;
}

// restore --to / --to-seq: BACKUP names an archive directory.
int RunRestoreToPoint(const BackupArgs& a, const std::string& key) {
  std::string options = "{";
  if (!a.to_time.empty()) {
    options += "\"to_time\":" + TimeJson(a.to_time);
  } else {
    options += "\"to_seq\":" + std::to_string(a.to_seq);
  }
  if (!a.generation.empty()) options += ",\"generation\":" + JsonString(a.generation);
  if (!key.empty()) options += ",\"encryption_key\":" + JsonString(key);
  options += "}";
  char* out = nullptr;
  char* err = nullptr;
  int rc;
  {
    ProgressBar bar;
    rc = convstore_restore_to_point(a.backup.c_str(), a.target.c_str(), options.c_str(), &ProgressBar::Callback, &bar,
                                    &out, &err);
  }
  if (rc != CONVSTORE_OK) return Failed("restore", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    JsonView report(out);
    std::printf("restored %s from the archive %s as of journal entry %s (committed %s; %s entries replayed)\n",
                a.target.c_str(), a.backup.c_str(), report.Raw("seq").c_str(), report.Text("committed_at").c_str(),
                report.Raw("entries_replayed").c_str());
  }
  convstore_free(out);
  return 0;
}

int RunRestore(const BackupArgs& a) {
  std::string key;
  if (!ReadKey(a.key_file, &key, "restore")) return 1;
  if (!a.to_time.empty() && a.to_seq >= 0) {
    std::fprintf(stderr, "convstore restore: give --to or --to-seq, not both\n");
    return 2;
  }
  if (!a.to_time.empty() || a.to_seq >= 0) return RunRestoreToPoint(a, key);
  char* out = nullptr;
  char* err = nullptr;
  int rc;
  {
    ProgressBar bar;
    rc = convstore_restore_backup(a.backup.c_str(), a.target.c_str(), key.empty() ? nullptr : key.c_str(),
                                  &ProgressBar::Callback, &bar, &out, &err);
  }
  if (rc != CONVSTORE_OK) return Failed("restore", rc, err);
  if (a.json) std::printf("%s\n", out);
  else std::printf("restored %s from %s\n", a.target.c_str(), a.backup.c_str());
  convstore_free(out);
  return 0;
}

}  // namespace

void AddBackupCommands(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<BackupArgs>();
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Copy STORE to BACKUP while writers go on, with BACKUP.manifest.json beside it (both 0600). BACKUP must not "
      "exist.");
  backup->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  backup->add_option("backup", args->backup, "the backup file to create")->required();
  backup->add_option("--key-file", args->key_file, "encrypt with AES-256-GCM under the key in this file (64 hex)");
  backup->add_flag("--json", args->json, "print the report as JSON");
  backup->callback([args, &run]() { run = [args]() { return RunBackup(*args); }; });

  CLI::App* verify = app.add_subcommand(
      "verify", "Check BACKUP without trusting it. Exit code 0: it verifies; 3: it is damaged (problems listed with "
                "--json); 1: it could not be checked.");
  verify->add_option("backup", args->backup, "the backup file")->required();
  verify->add_option("--key-file", args->key_file, "the key of an encrypted backup");
  verify->add_flag("--json", args->json, "print the result as JSON");
  verify->callback([args, &run]() { run = [args]() { return RunVerify(*args); }; });

  CLI::App* restore = app.add_subcommand(
      "restore", "Verify BACKUP, then replace (or create) the store at TARGET with it, atomically. Refused while any "
                 "process has TARGET open. With --to or --to-seq, BACKUP is an archive directory and TARGET is "
                 "rebuilt as of that point.");
  restore->add_option("backup", args->backup, "the backup file, or the archive directory with --to/--to-seq")->required();
  restore->add_option("target", args->target, "the store to replace or create")->required();
  restore->add_option("--key-file", args->key_file, "the key of an encrypted backup or archive");
  restore->add_option("--to", args->to_time,
                      "the last commit at or before this time (ISO-8601 with an offset, or µs since the epoch)");
  restore->add_option("--to-seq", args->to_seq, "up to and including this journal entry")->check(CLI::NonNegativeNumber);
  restore->add_option("--generation", args->generation, "the archive generation to restore from (default: newest)");
  restore->add_flag("--json", args->json, "print the report as JSON");
  restore->callback([args, &run]() { run = [args]() { return RunRestore(*args); }; });
}

}  // namespace convstore::cli
