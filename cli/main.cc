// convstore: operator tasks on a store file from a shell. Exit codes: 0 success; 1 the library refused the
// operation (the error on stderr); 2 a command line that does not parse (usage on stderr); 3 `verify` found a
// backup damaged or `check` found problems.
#include <cstdio>
#include <functional>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "convstore/store.h"

int main(int argc, char** argv) {
  CLI::App app{"convstore: durable conversation history in one SQLite file"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(convstore::Version()));
  std::function<int()> run;
  convstore::cli::AddStoreCommands(app, run);
  convstore::cli::AddImportCommand(app, run);
  convstore::cli::AddBackupCommands(app, run);
  convstore::cli::AddArchiveCommand(app, run);
  convstore::cli::AddSyncCommand(app, run);
  convstore::cli::AddGlobalBudgetCommand(app, run);
  convstore::cli::AddAuditCommand(app, run);
  convstore::cli::AddMetricsCommand(app, run);
  convstore::cli::AddStatsCommand(app, run);
  convstore::cli::AddRetentionCommand(app, run);
  convstore::cli::AddEraseCommands(app, run);
  convstore::cli::AddUserExportCommands(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version, or the usage error
    return code == 0 ? 0 : 2;
  }
  return run ? run() : 2;
}
