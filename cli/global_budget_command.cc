// convstore global-budget set|list|delete: the budgets a fleet of stores shares in PostgreSQL (convstore/sync.h,
// Sync::UseGlobalBudgets; docs/sync.md, "One budget across many hosts"). Each runs through a store of the fleet,
// whose handle reaches PostgreSQL the way its reservations do.
#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct GlobalBudgetArgs {
  std::string store, postgres, schema = "public";
  std::string name, scope, scope_key, period;
  int64_t window_hours = 0;
  std::string hard_usd, soft_usd;
  bool json = false;
};

// Opens the store and turns on global budgets; nullptr (the error printed) when either fails.
convstore_t* OpenWithGlobalBudgets(const GlobalBudgetArgs& a, const char* command) {
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = convstore_open(a.store.c_str(), R"({"create_if_missing":false})", &db, &err);
  if (rc != CONVSTORE_OK) {
    Failed(command, rc, err);
    return nullptr;
  }
  const std::string options = "{\"postgres\":" + JsonString(a.postgres) + ",\"schema\":" + JsonString(a.schema) + "}";
  rc = convstore_use_global_budgets(db, options.c_str(), &err);
  if (rc != CONVSTORE_OK) {
    convstore_close(db);
    Failed(command, rc, err);
    return nullptr;
  }
  return db;
}

std::string BudgetJson(const GlobalBudgetArgs& a) {
  std::string b = "{\"name\":" + JsonString(a.name) + ",\"scope\":" + JsonString(a.scope) +
                  ",\"period\":" + JsonString(a.period);
  if (!a.scope_key.empty()) b += ",\"scope_key\":" + JsonString(a.scope_key);
  if (a.window_hours != 0) b += ",\"window_hours\":" + std::to_string(a.window_hours);
  if (!a.hard_usd.empty()) b += ",\"hard_limit_usd\":" + JsonString(a.hard_usd);
  if (!a.soft_usd.empty()) b += ",\"soft_limit_usd\":" + JsonString(a.soft_usd);
  return b + "}";
}

int RunSet(const GlobalBudgetArgs& a) {
  convstore_t* db = OpenWithGlobalBudgets(a, "global-budget set");
  if (!db) return 1;
  char* err = nullptr;
  const int rc = convstore_set_global_budget(db, BudgetJson(a).c_str(), &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("global-budget set", rc, err);
  if (!a.json) std::printf("global budget '%s' set\n", a.name.c_str());
  return 0;
}

int RunDelete(const GlobalBudgetArgs& a) {
  convstore_t* db = OpenWithGlobalBudgets(a, "global-budget delete");
  if (!db) return 1;
  char* err = nullptr;
  const int rc = convstore_delete_global_budget(db, a.name.c_str(), &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("global-budget delete", rc, err);
  if (!a.json) std::printf("global budget '%s' deleted\n", a.name.c_str());
  return 0;
}

std::string Usd(const nlohmann::json& b, const char* key) {
  auto it = b.find(key);
  return it != b.end() && it->is_string() ? "$" + it->get<std::string>() : "-";
}

int RunList(const GlobalBudgetArgs& a) {
  convstore_t* db = OpenWithGlobalBudgets(a, "global-budget list");
  if (!db) return 1;
  char* out = nullptr;
  char* err = nullptr;
  const int rc = convstore_global_budgets(db, &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("global-budget list", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    const nlohmann::json list = nlohmann::json::parse(out, nullptr, false);
    if (!list.is_array() || list.empty()) std::printf("no global budgets\n");
    if (list.is_array()) {
      for (const auto& b : list) {
        JsonView v(b);
        std::string scope = v.Text("scope");
        if (!v.Text("scope_key").empty()) scope += " " + v.Text("scope_key");
        std::string period = v.Text("period");
        if (period == "rolling") period += " " + std::to_string(v.Int("window_hours")) + " h";
        std::printf("%-24s %-28s %-12s settled %s, reserved %s; hard %s, soft %s; window %s .. %s\n",
                    v.Text("name").c_str(), scope.c_str(), period.c_str(), Usd(b, "settled_usd").c_str(),
                    Usd(b, "reserved_usd").c_str(), Usd(b, "hard_limit_usd").c_str(),
                    Usd(b, "soft_limit_usd").c_str(), v.Text("window_from").c_str(), v.Text("window_to").c_str());
      }
    }
  }
  convstore_free(out);
  return 0;
}

// The options every form takes: the store and where PostgreSQL is.
void AddConnectionOptions(CLI::App* cmd, GlobalBudgetArgs& a) {
  cmd->add_option("store", a.store, "a convstore file of the fleet")->required()->check(CLI::ExistingFile);
  cmd->add_option("--postgres", a.postgres,
                  "libpq connection string or URI of the fleet's PostgreSQL (passwords: ~/.pgpass or PGPASSWORD)")
      ->required();
  cmd->add_option("--schema", a.schema, "the PostgreSQL schema holding convstore's tables (default public)");
  cmd->add_flag("--json", a.json, "print JSON (list) or nothing (set, delete)");
}

}  // namespace

void AddGlobalBudgetCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<GlobalBudgetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "global-budget",
      "Budgets that every store using global budgets admits against, kept in PostgreSQL: set, list, delete.");
  cmd->require_subcommand(1);
  CLI::App* set = cmd->add_subcommand("set", "Create or replace a global budget");
  AddConnectionOptions(set, *args);
  set->add_option("--name", args->name, "the budget's name")->required();
  set->add_option("--scope", args->scope, "global, team or user")
      ->required()
      ->check(CLI::IsMember({"global", "team", "user"}));
  set->add_option("--key", args->scope_key, "the team or user key (the keys every store uses)");
  set->add_option("--period", args->period, "day, week, month (UTC calendar) or rolling")
      ->required()
      ->check(CLI::IsMember({"day", "week", "month", "rolling"}));
  set->add_option("--window-hours", args->window_hours, "rolling only: the window in whole hours (1..8784)");
  set->add_option("--hard-usd", args->hard_usd, "reservations beyond it are refused, e.g. 250.00");
  set->add_option("--soft-usd", args->soft_usd, "crossing it raises an alert");
  set->callback([args, &run]() { run = [args]() { return RunSet(*args); }; });
  CLI::App* list = cmd->add_subcommand("list", "Every global budget with the fleet's settled and reserved spend");
  AddConnectionOptions(list, *args);
  list->callback([args, &run]() { run = [args]() { return RunList(*args); }; });
  CLI::App* del = cmd->add_subcommand("delete", "Delete a global budget");
  AddConnectionOptions(del, *args);
  del->add_option("--name", args->name, "the budget's name")->required();
  del->callback([args, &run]() { run = [args]() { return RunDelete(*args); }; });
}

}  // namespace convstore::cli
