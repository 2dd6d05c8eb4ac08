// The subcommands of the `convstore` command. Each registers its options on the app and returns the exit code
// of its run: 0 on success, 1 when the library refused the operation (the error is printed on stderr), 2 for a
// command line that does not parse, 3 when `verify` found a backup damaged, `check` found problems or
// `audit verify` found the chain broken.
#pragma once
#include <functional>

#include <CLI/CLI.hpp>

namespace convstore::cli {

// Registers `import` on `app`; `run` is set to the function that carries it out once parsed.
void AddImportCommand(CLI::App& app, std::function<int()>& run);
// Registers `backup`, `verify` and `restore`.
void AddBackupCommands(CLI::App& app, std::function<int()>& run);
// Registers `init`, `info`, `check`, `changes` and `backups`.
void AddStoreCommands(CLI::App& app, std::function<int()>& run);
// Registers `archive`.
void AddArchiveCommand(CLI::App& app, std::function<int()>& run);
// Registers `sync`.
void AddSyncCommand(CLI::App& app, std::function<int()>& run);
// Registers `global-budget` (set, list, delete).
void AddGlobalBudgetCommand(CLI::App& app, std::function<int()>& run);
// Registers `audit` (list, log, verify, checkpoint, keygen).
void AddAuditCommand(CLI::App& app, std::function<int()>& run);
// Registers `metrics` (record, query).
void AddMetricsCommand(CLI::App& app, std::function<int()>& run);
// Registers `stats`.
void AddStatsCommand(CLI::App& app, std::function<int()>& run);
// Registers `costs` and `report`.
void AddCostReportCommands(CLI::App& app, std::function<int()>& run);
// Registers `health`.
void AddHealthCommand(CLI::App& app, std::function<int()>& run);
// Registers `retention` (show, set, apply).
void AddRetentionCommand(CLI::App& app, std::function<int()>& run);
// Registers `erase` and `erasures`.
void AddEraseCommands(CLI::App& app, std::function<int()>& run);
// Registers `search` and `search-index`.
void AddSearchCommands(CLI::App& app, std::function<int()>& run);
// Registers `export-user` and `import-user`.
void AddUserExportCommands(CLI::App& app, std::function<int()>& run);
// Registers `bench`.
void AddBenchCommand(CLI::App& app, std::function<int()>& run);

}  // namespace convstore::cli
