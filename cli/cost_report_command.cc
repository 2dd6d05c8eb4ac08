// convstore costs / convstore report: the cost report (convstore_cost_report; docs/costs.md "Cost report") as
// tables in a terminal, or as one self-contained HTML page with charts.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>

#include "cli_support.h"
#include "commands.h"
#include "cost_report_html.h"

namespace convstore::cli {

namespace {

struct ReportArgs {
  std::string store, html, from, to, user, team, model, source;
  int days = 30, top = 10, lookback_days = 30;
  bool json = false;
};

std::string OptionsJson(const ReportArgs& a) {
  std::string j = "{\"days\":" + std::to_string(a.days) + ",\"top\":" + std::to_string(a.top) +
                  ",\"lookback_days\":" + std::to_string(a.lookback_days);
  if (!a.from.empty()) j += ",\"from\":" + TimeJson(a.from);
  if (!a.to.empty()) j += ",\"to\":" + TimeJson(a.to);
  for (auto [key, value] : {std::pair{"user", &a.user}, std::pair{"team", &a.team}, std::pair{"model", &a.model},
                            std::pair{"source", &a.source}})
    if (!value->empty()) j += std::string(",\"") + key + "\":" + JsonString(*value);
  return j + "}";
}

// The report's JSON, or "" after printing why not (*rc set).
std::string Fetch(const ReportArgs& a, const char* command, int* rc) {
  convstore_t* db = nullptr;
  *rc = OpenExisting(a.store, /*read_only=*/true, command, &db);
  if (*rc != 0) return "";
  char* err = nullptr;
  char* out = nullptr;
  const std::string options = OptionsJson(a);
  const int code = convstore_cost_report(db, options.c_str(), &out, &err);
  convstore_close(db);
  if (code != CONVSTORE_OK) {
    *rc = Failed(command, code, err);
    return "";
  }
  std::string text = out;
  convstore_free(out);
  return text;
}

std::string Usd(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? FormatUsd(it->get<int64_t>()) : "—";
}

void PrintTables(const nlohmann::json& r) {
  const auto& s = r["summary"];
  std::printf("costs %s to %s: %s over %lld messages and calls (%s each on average)\n",
              s.value("from", "").c_str(), s.value("to", "").c_str(), Usd(s, "total_cost_nanousd").c_str(),
              static_cast<long long>(s.value("total_messages", int64_t{0})), Usd(s, "avg_cost_per_message_nanousd").c_str());

  std::printf("\ndaily spend by model\n%-12s %-28s %14s\n", "day", "model", "cost");
  for (const auto& g : r["daily_by_model"]["groups"])
    std::printf("%-12s %-28s %14s\n", g["keys"].value("day", "").c_str(), g["keys"].value("model", "").c_str(),
                Usd(g, "cost_nanousd").c_str());

  for (auto [key, dim, count, title] : {std::tuple{"top_users", "user", "users_with_spend", "top users"},
                                        std::tuple{"top_teams", "team", "teams_with_spend", "top teams"}}) {
    std::printf("\n%s (%zu of %lld)\n%-32s %10s %14s\n", title, r[key].size(),
                static_cast<long long>(r.value(count, int64_t{0})), dim, "calls", "cost");
    for (const auto& g : r[key]) {
      std::string name = g["keys"].value(dim, "");
      if (name.empty()) name = "(no team)";
      std::printf("%-32s %10lld %14s\n", name.c_str(), static_cast<long long>(g.value("count", int64_t{0})),
                  Usd(g, "cost_nanousd").c_str());
    }
  }

  std::printf("\nteam budgets, month to date\n%-24s %-8s %14s %14s %8s %16s\n", "team", "month", "to date", "budget",
              "used", "projected end");
  for (const auto& t : r["team_budgets"]) {
    const auto used = t.find("budget_used_percent");
    char pct[32] = "—";
    if (used != t.end() && used->is_number()) std::snprintf(pct, sizeof pct, "%.1f%%", used->get<double>());
    std::printf("%-24s %-8s %14s %14s %8s %16s\n", t.value("team", "").c_str(), t.value("month", "").c_str(),
                Usd(t, "month_to_date_nanousd").c_str(), Usd(t, "monthly_budget_nanousd").c_str(), pct,
                Usd(t, "projected_month_end_nanousd").c_str());
  }

  std::printf("\nlatency by model\n%-28s %10s %10s %10s %10s %10s\n", "model", "calls", "avg ms", "p50 ms", "p95 ms",
              "p99 ms");
  for (const auto& l : r["latency_by_model"])
    std::printf("%-28s %10lld %10.1f %10.1f %10.1f %10.1f\n", l.value("model", "").c_str(),
                static_cast<long long>(l.value("calls", int64_t{0})), l.value("avg_latency_us", 0) / 1000.0,
                l.value("p50_latency_us", 0) / 1000.0, l.value("p95_latency_us", 0) / 1000.0,
                l.value("p99_latency_us", 0) / 1000.0);
}

int RunCosts(const ReportArgs& a) {
  int rc = 0;
  const std::string text = Fetch(a, "costs", &rc);
  if (text.empty()) return rc;
  if (a.json) std::printf("%s\n", text.c_str());
  else PrintTables(nlohmann::json::parse(text));
  return 0;
}

// Written beside the target under a temporary name (0644: a page to share) and renamed over it, so a reader never
// sees half a page.
int RunReport(const ReportArgs& a) {
  int rc = 0;
  const std::string text = Fetch(a, "report", &rc);
  if (text.empty()) return rc;
  const std::string html = CostReportHtml(nlohmann::json::parse(text), a.store);
  const std::string tmp = a.html + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << html;
    out.flush();
    if (!out) {
      std::fprintf(stderr, "convstore report: cannot write %s\n", tmp.c_str());
      std::remove(tmp.c_str());
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), a.html.c_str()) != 0) {
    std::fprintf(stderr, "convstore report: cannot write %s\n", a.html.c_str());
    std::remove(tmp.c_str());
    return 1;
  }
  std::printf("wrote %s (%zu bytes)\n", a.html.c_str(), html.size());
  return 0;
}

void AddFilterOptions(CLI::App* cmd, ReportArgs& a) {
  cmd->add_option("store", a.store, "the convstore file")->required();
  cmd->add_option("--days", a.days, "the last N days (default 30; ignored with --from)")->check(CLI::Range(1, 3660));
  cmd->add_option("--from", a.from, "start of the range (ISO-8601 or µs)");
  cmd->add_option("--to", a.to, "end of the range, exclusive (default now)");
  cmd->add_option("--user", a.user, "only this user's spend");
  cmd->add_option("--team", a.team, "only this team's spend");
  cmd->add_option("--model", a.model, "only this model");
  cmd->add_option("--source", a.source, "all (default), message or api");
  cmd->add_option("--top", a.top, "users and teams listed (default 10)")->check(CLI::Range(1, 1000));
  cmd->add_option("--lookback-days", a.lookback_days, "days behind the teams' run-rate projections (default 30)")
      ->check(CLI::Range(1, 366));
}

}  // namespace

void AddCostReportCommands(CLI::App& app, std::function<int()>& run) {
  auto costs = std::make_shared<ReportArgs>();
  CLI::App* c = app.add_subcommand("costs", "Spend by day and model, top users and teams, team budgets and latency "
                                            "by model, as tables");
  AddFilterOptions(c, *costs);
  c->add_flag("--json", costs->json, "print the C API's JSON");
  c->callback([costs, &run]() { run = [costs]() { return RunCosts(*costs); }; });

  auto report = std::make_shared<ReportArgs>();
  CLI::App* r = app.add_subcommand("report", "The cost report as one self-contained HTML page with charts");
  AddFilterOptions(r, *report);
  r->add_option("--html", report->html, "the page to write (replaced when it exists)")->required();
  r->callback([report, &run]() { run = [report]() { return RunReport(*report); }; });
}

}  // namespace convstore::cli
