// convstore: operator tasks on a store file from a shell.
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
  convstore::cli::AddImportCommand(app, run);
  convstore::cli::AddBackupCommands(app, run);
  convstore::cli::AddArchiveCommand(app, run);
  CLI11_PARSE(app, argc, argv);
  return run ? run() : 2;
}
