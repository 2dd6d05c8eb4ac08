// convstore backup / verify / restore: backups of a store file (convstore/ops.h), through the C ABI so that --json
// prints exactly its records.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "convstore/convstore.h"
#include "progress_bar.h"

namespace convstore::cli {

namespace {

struct BackupArgs {
  std::string store, backup, target, key_file;
  bool json = false;
};

// The key in a file (64 hex characters; surrounding white space ignored), so it never shows in a process list.
bool ReadKey(const std::string& path, std::string* key, const char* command) {
  key->clear();
  if (path.empty()) return true;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "convstore %s: cannot read the key file %s\n", command, path.c_str());
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  for (char c : text.str())
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') key->push_back(c);
  return true;
}

// Prints the error of a failed call and frees it; returns the exit code 1.
int Failed(const char* command, int rc, char* err) {
  std::fprintf(stderr, "convstore %s: %s: %s\n", command, convstore_code_name(rc), err ? err : "");
  convstore_free(err);
  return 1;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

int RunBackup(const BackupArgs& a) {
  std::string key;
  if (!ReadKey(a.key_file, &key, "backup")) return 1;
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = convstore_open(a.store.c_str(), R"({"create_if_missing":false})", &db, &err);
  if (rc != CONVSTORE_OK) return Failed("backup", rc, err);
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

int RunRestore(const BackupArgs& a) {
  std::string key;
  if (!ReadKey(a.key_file, &key, "restore")) return 1;
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
                 "process has TARGET open.");
  restore->add_option("backup", args->backup, "the backup file")->required();
  restore->add_option("target", args->target, "the store to replace or create")->required();
  restore->add_option("--key-file", args->key_file, "the key of an encrypted backup");
  restore->add_flag("--json", args->json, "print the report as JSON");
  restore->callback([args, &run]() { run = [args]() { return RunRestore(*args); }; });
}

}  // namespace convstore::cli
