// convstore erase STORE --user KEY and convstore erasures STORE [--finish]: erasing a person and the state of the
// erasures (convstore/privacy.h; docs/privacy.md).
#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct EraseArgs {
  std::string store, user;
  bool finish = false;
  bool json = false;
};

void PrintPending(const nlohmann::json& pending) {
  for (const auto& p : pending)
    if (p.is_string()) std::printf("  pending: %s\n", p.get<std::string>().c_str());
}

int Erase(const EraseArgs& a) {
  convstore_t* db = nullptr;
  char* err = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/false, "erase", &db);
  if (rc != 0) return rc;
  char* out = nullptr;
  rc = convstore_erase_user(db, a.user.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("erase", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    JsonView r(out);
    std::printf("erased the user; their spend stays under %s\n", r.Text("user_key").c_str());
    std::printf("removed %lld conversations (%lld messages, %lld tool calls, %lld tombstones), %lld API usage rows, "
                "%lld budgets, %lld reservations; %lld audit entries stripped, %lld journal entries rewritten, %lld "
                "archive files removed\n",
                static_cast<long long>(r.Int("conversations")), static_cast<long long>(r.Int("messages")),
                static_cast<long long>(r.Int("tool_calls")), static_cast<long long>(r.Int("tombstones")),
                static_cast<long long>(r.Int("api_usage")), static_cast<long long>(r.Int("budgets")),
                static_cast<long long>(r.Int("reservations")), static_cast<long long>(r.Int("audit_entries_stripped")),
                static_cast<long long>(r.Int("journal_entries_rewritten")),
                static_cast<long long>(r.Int("archive_files_removed")));
    PrintPending(r.json().value("pending", nlohmann::json::array()));
  }
  convstore_free(out);
  return 0;
}

int Erasures(const EraseArgs& a) {
  convstore_t* db = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/!a.finish, "erasures", &db);
  if (rc != 0) return rc;
  char* err = nullptr;
  char* out = nullptr;
  rc = a.finish ? convstore_finish_erasures(db, &out, &err) : convstore_list_erasures(db, &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("erasures", rc, err);
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    JsonView r(out);
    const auto& list = r.json().value("erasures", nlohmann::json::array());
    if (list.empty()) std::printf(a.finish ? "no erasure is pending\n" : "no erasures\n");
    for (const auto& e : list) {
      JsonView v(e);
      std::printf("%lld  %s  erased %s  %s\n", static_cast<long long>(v.Int("id")), v.Text("pseudonym").c_str(),
                  v.Text("erased_at").c_str(),
                  e.value("finished_at", nlohmann::json()).is_string()
                      ? ("finished " + v.Text("finished_at")).c_str()
                      : "PENDING");
      PrintPending(e.value("pending", nlohmann::json::array()));
    }
  }
  convstore_free(out);
  return 0;
}

}  // namespace

void AddEraseCommands(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<EraseArgs>();
  CLI::App* erase = app.add_subcommand("erase", "Erase a person: every row about them, their data in every file");
  erase->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  erase->add_option("--user", args->user, "the user's key")->required();
  erase->add_flag("--json", args->json, "print the C API's JSON");
  erase->callback([args, &run]() { run = [args]() { return Erase(*args); }; });
  CLI::App* erasures = app.add_subcommand("erasures", "The erasures of a store and what is still pending");
  erasures->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  erasures->add_flag("--finish", args->finish, "try the pending steps again");
  erasures->add_flag("--json", args->json, "print the C API's JSON");
  erasures->callback([args, &run]() { run = [args]() { return Erasures(*args); }; });
}

}  // namespace convstore::cli
