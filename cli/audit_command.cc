// convstore audit list|log|verify|checkpoint|keygen: the store's tamper-evident audit log (convstore/audit.h;
// docs/audit.md).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct AuditArgs {
  std::string store;
  // list
  std::string since, until, action, resource_type, resource_id, actor, user, pseudonym;
  int64_t after_seq = 0, limit = 100;
  // log
  std::string subject, details;
  // verify, checkpoint, keygen
  std::string checkpoint_file, public_key, key_file, out_file;
  bool json = false;
};

convstore_t* OpenStore(const AuditArgs& a, const char* command, bool read_only) {
  convstore_t* db = nullptr;
  return OpenExisting(a.store, read_only, command, &db) == 0 ? db : nullptr;
}

void AddText(std::string& json, const char* key, const std::string& value) {
  if (!value.empty()) json += std::string(json.size() > 1 ? "," : "") + "\"" + key + "\":" + JsonString(value);
}

// Writes `text` to a new file created 0600 (refusing to overwrite one).
bool WriteNewFile(const std::string& path, const std::string& text, const char* command) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "convstore %s: cannot create %s: %s\n", command, path.c_str(), std::strerror(errno));
    return false;
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) std::fprintf(stderr, "convstore %s: cannot write %s\n", command, path.c_str());
  return ok;
}

int RunList(const AuditArgs& a) {
  convstore_t* db = OpenStore(a, "audit list", true);
  if (!db) return 1;
  std::string q = "{\"after_seq\":" + std::to_string(a.after_seq) + ",\"limit\":" + std::to_string(a.limit);
  if (!a.since.empty()) q += ",\"since\":" + TimeJson(a.since);
  if (!a.until.empty()) q += ",\"until\":" + TimeJson(a.until);
  AddText(q, "action", a.action);
  AddText(q, "resource_type", a.resource_type);
  AddText(q, "resource_id", a.resource_id);
  AddText(q, "actor", a.actor);
  AddText(q, "user_key", a.user);
  AddText(q, "pseudonym", a.pseudonym);
  q += "}";
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_read_audit(db, q.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("audit list", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    JsonView page(out);
    const auto& entries = page.json()["entries"];
    if (entries.empty()) std::printf("no audit entries\n");
    for (const auto& e : entries) {
      JsonView v(e);
      std::string who = v.Text("actor");
      if (!v.Text("actor_user").empty()) who += " (person " + v.Text("actor_user").substr(0, 8) + "…)";
      std::string what = v.Text("resource_type");
      if (!v.Text("resource_id").empty()) what += " " + v.Text("resource_id");
      std::string about = v.Text("subject_user").empty() ? "" : "  about " + v.Text("subject_user").substr(0, 8) + "…";
      std::printf("%6lld  %s  %-22s %-24s %s%s  %s\n", static_cast<long long>(v.Int("seq")), v.Text("at").c_str(),
                  v.Text("action").c_str(), who.c_str(), what.c_str(), about.c_str(), v.Raw("details").c_str());
    }
    if (page.Int("next_after_seq") != 0)
      std::printf("more: --after-seq %lld\n", static_cast<long long>(page.Int("next_after_seq")));
  }
  convstore_free(out);
  return 0;
}

int RunLog(const AuditArgs& a) {
  convstore_t* db = OpenStore(a, "audit log", false);
  if (!db) return 1;
  std::string e = "{";
  AddText(e, "action", a.action);
  AddText(e, "resource_type", a.resource_type);
  AddText(e, "resource_id", a.resource_id);
  AddText(e, "actor", a.actor.empty() ? std::string("convstore-cli") : a.actor);
  AddText(e, "subject_user_key", a.subject);
  if (!a.details.empty()) e += std::string(e.size() > 1 ? "," : "") + "\"details\":" + a.details;
  e += "}";
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_log_event(db, e.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("audit log", rc, err);
  if (a.json) std::printf("%s\n", out);
  else std::printf("audit entry %lld recorded\n", static_cast<long long>(JsonView(out).Int("seq")));
  convstore_free(out);
  return 0;
}

int RunVerify(const AuditArgs& a) {
  std::string checkpoint;
  if (!a.checkpoint_file.empty()) {
    std::ifstream in(a.checkpoint_file);
    if (!in) {
      std::fprintf(stderr, "convstore audit verify: cannot read %s\n", a.checkpoint_file.c_str());
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    checkpoint = text.str();
    if (a.public_key.empty()) {
      std::fprintf(stderr, "convstore audit verify: --checkpoint needs --public-key (the key you trust)\n");
      return 2;
    }
  }
  convstore_t* db = OpenStore(a, "audit verify", true);
  if (!db) return 1;
  char* out = nullptr;
  char* err = nullptr;
  const int rc = checkpoint.empty()
                     ? convstore_verify_audit(db, &out, &err)
                     : convstore_verify_audit_checkpoint(db, checkpoint.c_str(), a.public_key.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("audit verify", rc, err);
  JsonView v(out);
  const bool ok = v.json().value("ok", false);
  if (a.json) {
    std::printf("%s\n", out);
  } else if (ok) {
    std::printf("audit log verifies: %lld entries (%lld to %lld), head %s%s\n",
                static_cast<long long>(v.Int("entries_checked")), static_cast<long long>(v.Int("first_seq")),
                static_cast<long long>(v.Int("last_seq")), v.Text("head_hash").c_str(),
                checkpoint.empty() ? "" : "; the checkpoint matches");
  } else {
    std::printf("audit log does NOT verify at entry %lld: %s\n", static_cast<long long>(v.Int("first_bad_seq")),
                v.Text("problem").c_str());
  }
  convstore_free(out);
  return ok ? 0 : 3;
}

int RunCheckpoint(const AuditArgs& a) {
  std::string key;
  if (!ReadKey(a.key_file, &key, "audit checkpoint")) return 1;
  convstore_t* db = OpenStore(a, "audit checkpoint", true);
  if (!db) return 1;
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_audit_checkpoint(db, key.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("audit checkpoint", rc, err);
  const std::string text = std::string(out) + "\n";
  const JsonView v(out);
  convstore_free(out);
  if (a.out_file.empty()) {
    std::printf("%s", text.c_str());
    return 0;
  }
  if (!WriteNewFile(a.out_file, text, "audit checkpoint")) return 1;
  if (!a.json)
    std::printf("checkpoint of entry %lld written to %s\n", static_cast<long long>(v.Int("seq")), a.out_file.c_str());
  return 0;
}

int RunKeygen(const AuditArgs& a) {
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_audit_keypair(&out, &err);
  if (rc != CONVSTORE_OK) return Failed("audit keygen", rc, err);
  const JsonView v(out);
  convstore_free(out);
  if (!WriteNewFile(a.key_file, v.Text("private_key") + "\n", "audit keygen")) return 1;
  if (a.json) std::printf("{\"public_key\":\"%s\"}\n", v.Text("public_key").c_str());
  else std::printf("private key written to %s (keep it secret)\npublic key: %s\n", a.key_file.c_str(),
                   v.Text("public_key").c_str());
  return 0;
}

void AddStore(CLI::App* cmd, AuditArgs& a) {
  cmd->add_option("store", a.store, "the convstore file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", a.json, "print the C API's JSON");
}

}  // namespace

void AddAuditCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "The tamper-evident audit log: list, log, verify, checkpoint, keygen (docs/audit.md).");
  cmd->require_subcommand(1);

  CLI::App* list = cmd->add_subcommand("list", "Audit entries, oldest first");
  AddStore(list, *args);
  list->add_option("--since", args->since, "entries at or after this time (ISO-8601 or µs)");
  list->add_option("--until", args->until, "entries before this time");
  list->add_option("--after-seq", args->after_seq, "entries after this sequence number");
  list->add_option("--action", args->action, "only this action");
  list->add_option("--resource-type", args->resource_type, "only this resource type");
  list->add_option("--resource-id", args->resource_id, "only this resource");
  list->add_option("--actor", args->actor, "only this actor");
  list->add_option("--user", args->user, "entries by or about this user (key)");
  list->add_option("--pseudonym", args->pseudonym, "entries by or about this pseudonymous id");
  list->add_option("--limit", args->limit, "at most this many (1..10000, default 100)");
  list->callback([args, &run]() { run = [args]() { return RunList(*args); }; });

  CLI::App* log = cmd->add_subcommand("log", "Record an operator's entry");
  AddStore(log, *args);
  log->add_option("--action", args->action, "what was done, e.g. maintenance.window")->required();
  log->add_option("--resource-type", args->resource_type, "the kind of thing it was done to");
  log->add_option("--resource-id", args->resource_id, "the thing it was done to");
  log->add_option("--actor", args->actor, "who did it (a role or service; default convstore-cli)");
  log->add_option("--subject", args->subject, "the user (key) the entry is about");
  log->add_option("--details", args->details, "a JSON object of details (nothing naming a person)");
  log->callback([args, &run]() { run = [args]() { return RunLog(*args); }; });

  CLI::App* verify = cmd->add_subcommand(
      "verify", "Recompute the hash chain (exit code 3 when it does not verify); with --checkpoint, also against "
                "a saved checkpoint");
  AddStore(verify, *args);
  verify->add_option("--checkpoint", args->checkpoint_file, "a checkpoint file written by `audit checkpoint`");
  verify->add_option("--public-key", args->public_key, "the public key you trust (64 hex digits)");
  verify->callback([args, &run]() { run = [args]() { return RunVerify(*args); }; });

  CLI::App* checkpoint = cmd->add_subcommand("checkpoint", "Sign the chain's head with your Ed25519 key");
  AddStore(checkpoint, *args);
  checkpoint->add_option("--key-file", args->key_file, "the private key (from `audit keygen`)")->required();
  checkpoint->add_option("--out", args->out_file, "write the checkpoint to this new file (0600) instead of stdout");
  checkpoint->callback([args, &run]() { run = [args]() { return RunCheckpoint(*args); }; });

  CLI::App* keygen = cmd->add_subcommand("keygen", "Make an Ed25519 key pair for checkpoints");
  keygen->add_option("key_file", args->key_file, "the private key's new file (created 0600)")->required();
  keygen->add_flag("--json", args->json, "print the public key as JSON");
  keygen->callback([args, &run]() { run = [args]() { return RunKeygen(*args); }; });
}

}  // namespace convstore::cli
