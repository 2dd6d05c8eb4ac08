// convstore import: another tool's history into a store (ConversationStore::ImportHistory).
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "convstore/store.h"

namespace convstore::cli {

namespace {

struct ImportArgs {
  std::string store, source, format, user;
  bool json = false;
};

int RunImport(const ImportArgs& a) {
  ImportOptions options;
  options.source_path = a.source;
  options.format = a.format == "agents-sdk" ? ImportFormat::kAgentsSdk : ImportFormat::kAiDatabaseV1;
  options.user_key = a.user;
  auto store = ConversationStore::Open(a.store);
  if (!store.ok()) {
    std::fprintf(stderr, "convstore import: cannot open %s: %s\n", a.store.c_str(), store.status().ToString().c_str());
    return 1;
  }
  auto report = (*store)->ImportHistory(options);
  if (!report.ok()) {
    std::fprintf(stderr, "convstore import: %s\n", report.status().ToString().c_str());
    return 1;
  }
  if (a.json) {
    std::printf("{\"conversations\":%lld,\"messages\":%lld,\"skipped_conversations\":%lld,\"skipped_rows\":%lld}\n",
                static_cast<long long>(report->conversations), static_cast<long long>(report->messages),
                static_cast<long long>(report->skipped_conversations), static_cast<long long>(report->skipped_rows));
  } else {
    std::printf("imported %lld conversations (%lld messages) from %s into %s",
                static_cast<long long>(report->conversations), static_cast<long long>(report->messages),
                a.source.c_str(), a.store.c_str());
    if (report->skipped_conversations > 0)
      std::printf("; %lld already imported, skipped", static_cast<long long>(report->skipped_conversations));
    if (report->skipped_rows > 0)
      std::printf("; %lld source rows are not valid items, skipped", static_cast<long long>(report->skipped_rows));
    std::printf("\n");
  }
  Status closed = (*store)->Close();
  if (!closed.ok()) {
    std::fprintf(stderr, "convstore import: closing %s: %s\n", a.store.c_str(), closed.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void AddImportCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "import",
      "Import another tool's history into STORE (created if missing). The source file is opened read-only and left "
      "untouched; each conversation is imported in one transaction and one imported before is skipped, so running "
      "it again finishes an interrupted import.");
  cmd->add_option("store", args->store, "the convstore file")->required();
  cmd->add_option("--from", args->source, "the file to import from")->required()->check(CLI::ExistingFile);
  cmd->add_option("--format", args->format,
                  "agents-sdk: an OpenAI Agents SDK SQLiteSession file (sessions open with AgentSession); "
                  "aidatabase-v1: a file of the reference design's V1 AIDatabase class")
      ->required()
      ->check(CLI::IsMember({"agents-sdk", "aidatabase-v1"}));
  cmd->add_option("--user", args->user, "the user of imported Agents SDK sessions (default: agents-sdk)");
  cmd->add_flag("--json", args->json, "print the report as JSON");
  cmd->callback([args, &run]() { run = [args]() { return RunImport(*args); }; });
}

}  // namespace convstore::cli
