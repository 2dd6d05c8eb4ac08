// convstore: operator tasks on a store file from a shell. Exit codes: 0 success; 1 the library refused the
// operation (the error on stderr); 2 a command line that does not parse (usage on stderr); 3 `verify` found a
// backup damaged or `check` found problems. `health` exits as a Nagios plugin: 0 ok, 1 warn, 2 fail, 3 unknown
// (its usage errors included).
#include <cstdio>
#include <functional>
#include <string_view>

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
  convstore::cli::AddHealthCommand(app, run);
  convstore::cli::AddSearchCommands(app, run);
  convstore::cli::AddCostReportCommands(app, run);
  convstore::cli::AddRetentionCommand(app, run);
  convstore::cli::AddEraseCommands(app, run);
  convstore::cli::AddUserExportCommands(app, run);
  convstore::cli::AddBenchCommand(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version, or the usage error
    const bool health = argc > 1 && std::string_view(argv[1]) == "health";  // 2 means "fail" there
    return code == 0 ? 0 : health ? 3 : 2;
  }
  return run ? run() : 2;
}
