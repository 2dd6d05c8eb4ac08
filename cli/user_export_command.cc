// convstore export-user STORE --user KEY [--out FILE] and convstore import-user STORE FILE: everything about a
// person as JSON Lines, and back (convstore/privacy.h; docs/privacy.md, "Export and import").
#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.h"
#include "commands.h"
#include "progress_bar.h"

namespace convstore::cli {

namespace {

struct UserFileArgs {
  std::string store, user, file = "-";
  bool json = false;
};

// The callbacks' user_data: where the export goes or the import comes from, and the progress bar.
struct Stream {
  std::FILE* file = nullptr;
  ProgressBar bar;
};

int WriteTo(void* user_data, const char* data, size_t size) {
  auto* s = static_cast<Stream*>(user_data);
  return std::fwrite(data, 1, size, s->file) == size ? 0 : 1;
}

int64_t ReadFrom(void* user_data, char* buffer, size_t capacity) {
  auto* s = static_cast<Stream*>(user_data);
  const size_t n = std::fread(buffer, 1, capacity, s->file);
  if (n == 0 && std::ferror(s->file)) return -1;
  return static_cast<int64_t>(n);
}

void Progress(void* user_data, const char* phase, int64_t done, int64_t total) {
  static_cast<Stream*>(user_data)->bar.Show(phase, done, total);
}

void PrintCounts(std::FILE* out, const char* verb, const JsonView& r) {
  const JsonView c(r.json().value("counts", nlohmann::json::object()));
  std::fprintf(out,
               "%s %lld conversations (%lld messages, %lld tool calls, %lld deleted messages), %lld API usage rows, "
               "%lld budgets, %lld audit entries; spend %s USD\n",
               verb, static_cast<long long>(c.Int("conversations")), static_cast<long long>(c.Int("messages")),
               static_cast<long long>(c.Int("tool_calls")), static_cast<long long>(c.Int("deleted_messages")),
               static_cast<long long>(c.Int("api_usage")), static_cast<long long>(c.Int("budgets")),
               static_cast<long long>(c.Int("audit_entries")), r.Text("cost_usd").c_str());
}

int ExportUser(const UserFileArgs& a) {
  convstore_t* db = nullptr;
  char* err = nullptr;
  // Read-write: the export mints the user's pseudonymous id when they have none yet (an import after their
  // erasure finds their row by it).
  int rc = OpenExisting(a.store, /*read_only=*/false, "export-user", &db);
  if (rc != 0) return rc;
  const bool to_stdout = a.file == "-";
  Stream stream;
  stream.file = stdout;
  const std::string options = to_stdout ? "{}" : nlohmann::json{{"path", a.file}}.dump();
  char* out = nullptr;
  rc = convstore_export_user(db, a.user.c_str(), options.c_str(), to_stdout ? &WriteTo : nullptr, &Progress, &stream,
                             &out, &err);
  stream.bar.Finish();
  convstore_close(db);
  if (rc == CONVSTORE_OK && to_stdout && std::fflush(stdout) != 0) {
    convstore_free(out);
    std::fprintf(stderr, "convstore export-user: could not write to standard output\n");
    return 1;
  }
  if (rc != CONVSTORE_OK) return Failed("export-user", rc, err);
  // With the export on standard output, what it holds goes to standard error.
  std::FILE* report = to_stdout ? stderr : stdout;
  if (a.json) {
    std::fprintf(report, "%s\n", out);
  } else {
    JsonView r(out);
    PrintCounts(report, "exported", r);
    if (!to_stdout) std::fprintf(report, "to %s (%lld bytes)\n", a.file.c_str(), static_cast<long long>(r.Int("bytes")));
  }
  convstore_free(out);
  return 0;
}

int ImportUser(const UserFileArgs& a) {
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/false, "import-user", &db);
  if (rc != 0) return rc;
  const bool from_stdin = a.file == "-";
  Stream stream;
  stream.file = stdin;
  const std::string options = from_stdin ? "{}" : nlohmann::json{{"path", a.file}}.dump();
  char* out = nullptr;
  rc = convstore_import_user(db, options.c_str(), from_stdin ? &ReadFrom : nullptr, &Progress, &stream, &out, &err);
  stream.bar.Finish();
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("import-user", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    JsonView r(out);
    PrintCounts(stdout, ("imported user " + r.Text("user_key") + ":").c_str(), r);
    if (r.json().value("restored_erased_user", false))
      std::printf("the user had been erased here: their row is theirs again and %s USD of the spend kept since "
                  "moved back to the imported rows (counted once)\n",
                  r.Text("cost_from_retained_usd").c_str());
  }
  convstore_free(out);
  return 0;
}

}  // namespace

void AddUserExportCommands(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<UserFileArgs>();
  CLI::App* exp = app.add_subcommand("export-user", "Export everything about a person as JSON Lines");
  exp->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  exp->add_option("--user", args->user, "the user's key")->required();
  exp->add_option("--out,-o", args->file, "the file to create (must not exist); - for standard output (default)");
  exp->add_flag("--json", args->json, "print the C API's JSON report");
  exp->callback([args, &run]() { run = [args]() { return ExportUser(*args); }; });
  CLI::App* imp = app.add_subcommand("import-user", "Import a person's export (all of it or nothing)");
  imp->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  imp->add_option("file", args->file, "the export; - for standard input")->required();
  imp->add_flag("--json", args->json, "print the C API's JSON report");
  imp->callback([args, &run]() { run = [args]() { return ImportUser(*args); }; });
}

}  // namespace convstore::cli
