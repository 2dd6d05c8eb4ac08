#include "cost_report_html.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <vector>

namespace convstore::cli {

namespace {

using nlohmann::json;

constexpr const char* kColours[kModelColours] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr int64_t kMicrosPerDay = 86'400'000'000;

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

int64_t I(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
std::string S(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
const json& O(const json& j, const char* key) {
  static const json empty = json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}
const json& A(const json& j, const char* key) {
  static const json empty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

std::string Num(double v, const char* format = "%.1f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string Count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string Ms(int64_t us) { return Num(static_cast<double>(us) / 1000.0, "%.1f") + " ms"; }

// Days since 1970-01-01 <-> YYYY-MM-DD (proleptic Gregorian; H. Hinnant's algorithms).
std::string DateOf(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y, m, d);
  return buf;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// A scale's top: 1, 2 or 5 times a power of ten at or above `v`.
double NiceTop(double v) {
  if (v <= 0) return 1;
  double p = 1;
  while (p * 10 <= v) p *= 10;
  while (p > v) p /= 10;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

// A chart's opening tag: drawn at `width` x `height` and scaled down with the page.
std::string SvgOpen(const std::string& id, const std::string& label, int width, int height) {
  return "<svg id=\"" + id + "\" role=\"img\" aria-label=\"" + Escape(label) + "\" viewBox=\"0 0 " +
         std::to_string(width) + " " + std::to_string(height) + "\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\">";
}

std::string Css() {
  return R"(body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f6f6f6}.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
svg{display:block;max-width:100%;height:auto}.empty{color:#888;font-style:italic}details{margin:6px 0}
.over{color:#b00020;font-weight:600})";
}

// Daily spend stacked by model: one bar per day of the range, a segment per model.
std::string DailyChart(const json& r, const std::vector<std::string>& models,
                       const std::map<std::string, size_t>& colour_of, std::string* table) {
  const json& summary = O(r, "summary");
  std::map<std::string, std::map<std::string, int64_t>> by_day;  // day -> model -> nano-USD
  for (const json& g : A(O(r, "daily_by_model"), "groups")) {
    const json& keys = O(g, "keys");
    by_day[S(keys, "day")][S(keys, "model")] += I(g, "cost_nanousd");
  }
  std::vector<std::string> days;
  const int64_t from = I(summary, "from_us"), to = I(summary, "to_us");
  if (to > from && (to - from) / kMicrosPerDay <= 3700)
    for (int64_t d = FloorDiv(from, kMicrosPerDay); d <= FloorDiv(to - 1, kMicrosPerDay); ++d) days.push_back(DateOf(d));
  for (const auto& [day, _] : by_day)
    if (std::find(days.begin(), days.end(), day) == days.end()) days.push_back(day);
  std::sort(days.begin(), days.end());
  if (by_day.empty()) return "<p class=\"empty\">No spend in this range.</p>";
  int64_t max_day = 0;
  for (const auto& [day, per_model] : by_day) {
    int64_t t = 0;
    for (const auto& [m, c] : per_model) t += c;
    max_day = std::max(max_day, t);
  }
  const double top = NiceTop(static_cast<double>(max_day) / 1e9);
  const int width = 1000, height = 320, left = 70, bottom = 40, plot_w = width - left - 10, plot_h = height - bottom - 10;
  const double slot = static_cast<double>(plot_w) / static_cast<double>(days.size());
  const double bar = std::max(1.0, slot * 0.8);
  std::string svg = SvgOpen("daily-chart", "Daily spend by model", width, height);
  for (int i = 0; i <= 4; ++i) {
    const double y = 10 + plot_h - plot_h * i / 4.0;
    svg += "<line x1=\"" + std::to_string(left) + "\" x2=\"" + std::to_string(width - 10) + "\" y1=\"" + Num(y) +
           "\" y2=\"" + Num(y) + "\" stroke=\"#e5e5e5\"/>";
    svg += "<text x=\"" + std::to_string(left - 6) + "\" y=\"" + Num(y + 4) + "\" text-anchor=\"end\" font-size=\"11\">" +
           Escape(FormatUsd(static_cast<int64_t>(top * 1e9 * i / 4))) + "</text>";
  }
  for (size_t i = 0; i < days.size(); ++i) {
    const double x = left + slot * static_cast<double>(i) + (slot - bar) / 2;
    double y = 10 + plot_h;
    auto it = by_day.find(days[i]);
    if (it != by_day.end())
      for (const std::string& model : models) {
        auto c = it->second.find(model);
        if (c == it->second.end() || c->second <= 0) continue;
        const double h = plot_h * (static_cast<double>(c->second) / 1e9) / top;
        y -= h;
        svg += "<rect class=\"spend\" x=\"" + Num(x, "%.2f") + "\" y=\"" + Num(y, "%.2f") + "\" width=\"" +
               Num(bar, "%.2f") + "\" height=\"" + Num(h, "%.2f") + "\" fill=\"" +
               kColours[colour_of.at(model)] + "\" data-day=\"" + days[i] + "\" data-model=\"" + Escape(model) +
               "\" data-nanousd=\"" + std::to_string(c->second) + "\"><title>" + days[i] + " " + Escape(model) +
               ": " + FormatUsd(c->second) + "</title></rect>";
      }
    const size_t every = std::max<size_t>(1, days.size() / 10);
    if (i % every == 0)
      svg += "<text x=\"" + Num(x + bar / 2) + "\" y=\"" + std::to_string(height - bottom + 16) +
             "\" text-anchor=\"middle\" font-size=\"11\">" + days[i].substr(5) + "</text>";
  }
  svg += "</svg>";
  svg += "<div class=\"legend\">";
  for (const std::string& m : models)
    svg += "<span><i style=\"background:" + std::string(kColours[colour_of.at(m)]) + "\"></i>" + Escape(m) + "</span>";
  svg += "</div>";
  *table = "<details><summary>The numbers</summary><table id=\"daily-table\"><tr><th>day</th>";
  for (const std::string& m : models) *table += "<th>" + Escape(m) + "</th>";
  *table += "<th>total</th></tr>";
  for (auto it = by_day.rbegin(); it != by_day.rend(); ++it) {
    *table += "<tr><td>" + it->first + "</td>";
    int64_t total = 0;
    for (const std::string& m : models) {
      auto c = it->second.find(m);
      const int64_t v = c == it->second.end() ? 0 : c->second;
      total += v;
      *table += "<td data-nanousd=\"" + std::to_string(v) + "\">" + FormatUsd(v) + "</td>";
    }
    *table += "<td data-nanousd=\"" + std::to_string(total) + "\">" + FormatUsd(total) + "</td></tr>";
  }
  *table += "</table></details>";
  return svg;
}

// Horizontal bars: one per row, labelled, the value at the bar's end.
struct Bar {
  std::string label, value_text, colour, data;
  double value = 0;
};
std::string BarChart(const std::string& id, const std::string& label, const std::vector<Bar>& bars) {
  if (bars.empty()) return "<p class=\"empty\">Nothing to show.</p>";
  double max = 0;
  for (const Bar& b : bars) max = std::max(max, b.value);
  const int width = 1000, row = 24, left = 240, right = 130;
  const int height = static_cast<int>(bars.size()) * row + 8;
  std::string svg = SvgOpen(id, label, width, height);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = 4 + static_cast<double>(i) * row;
    const double w = max > 0 ? (width - left - right) * b.value / max : 0;
    const std::string shown = b.label.size() > 34 ? b.label.substr(0, 33) + "…" : b.label;
    svg += "<text x=\"" + std::to_string(left - 8) + "\" y=\"" + Num(y + 16) +
           "\" text-anchor=\"end\" font-size=\"12\">" + Escape(shown) + "</text>";
    svg += "<rect class=\"bar\" x=\"" + std::to_string(left) + "\" y=\"" + Num(y + 3) + "\" width=\"" +
           Num(std::max(w, b.value > 0 ? 1.0 : 0.0), "%.2f") + "\" height=\"" + std::to_string(row - 6) +
           "\" fill=\"" + b.colour + "\" " + b.data + "><title>" + Escape(b.label) + ": " + Escape(b.value_text) +
           "</title></rect>";
    svg += "<text x=\"" + Num(left + w + 6) + "\" y=\"" + Num(y + 16) + "\" font-size=\"12\">" +
           Escape(b.value_text) + "</text>";
  }
  return svg + "</svg>";
}

std::string TopSection(const json& r, const char* key, const char* dim, const char* id, const char* colour,
                       const char* count_key, const char* noun) {
  std::vector<Bar> bars;
  int64_t total = I(O(r, "summary"), "total_cost_nanousd");
  std::string table = "<table id=\"" + std::string(id) + "-table\"><tr><th>" + noun +
                      "</th><th>calls</th><th>tokens in</th><th>tokens out</th><th>cost</th><th>share</th></tr>";
  for (const json& g : A(r, key)) {
    std::string name = S(O(g, "keys"), dim);
    if (name.empty()) name = "(no team)";
    const int64_t cost = I(g, "cost_nanousd");
    bars.push_back({name, FormatUsd(cost), colour, "data-key=\"" + Escape(name) + "\" data-nanousd=\"" +
                                                        std::to_string(cost) + "\"",
                    static_cast<double>(cost)});
    table += "<tr><td>" + Escape(name) + "</td><td>" + Count(I(g, "count")) + "</td><td>" +
             Count(I(g, "tokens_input")) + "</td><td>" + Count(I(g, "tokens_output")) + "</td><td data-nanousd=\"" +
             std::to_string(cost) + "\">" + FormatUsd(cost) + "</td><td>" +
             (total > 0 ? Num(100.0 * static_cast<double>(cost) / static_cast<double>(total)) + "%" : "") +
             "</td></tr>";
  }
  table += "</table>";
  const int64_t all = I(r, count_key);
  std::string note = "<p class=\"meta\">" + Count(static_cast<int64_t>(A(r, key).size())) + " of " + Count(all) +
                     " " + noun + "s with spend in the range.</p>";
  return BarChart(id, std::string("Top ") + noun + "s by cost", bars) + note + table;
}

std::string BudgetSection(const json& r) {
  const json& teams = A(r, "team_budgets");
  if (teams.empty()) return "<p class=\"empty\">No team has a monthly budget or spend this month.</p>";
  double max = 0;
  for (const json& t : teams)
    for (const char* k : {"month_to_date_nanousd", "monthly_budget_nanousd", "projected_month_end_nanousd"})
      max = std::max(max, static_cast<double>(I(t, k)));
  const int width = 1000, row = 30, left = 240, right = 190;
  const int height = static_cast<int>(teams.size()) * row + 8;
  std::string svg = SvgOpen("budget-chart", "Team budgets, month to date", width, height);
  std::string table = "<table id=\"budget-table\"><tr><th>team</th><th>month</th><th>month to date</th><th>budget</th>"
                      "<th>used</th><th>projected month end</th><th>daily average</th></tr>";
  auto x_of = [&](int64_t v) { return max > 0 ? left + (width - left - right) * static_cast<double>(v) / max : left; };
  for (size_t i = 0; i < teams.size(); ++i) {
    const json& t = teams[i];
    const std::string team = S(t, "team");
    const int64_t mtd = I(t, "month_to_date_nanousd"), projected = I(t, "projected_month_end_nanousd");
    const bool has_budget = t.contains("monthly_budget_nanousd") && t["monthly_budget_nanousd"].is_number_integer();
    const int64_t budget = has_budget ? I(t, "monthly_budget_nanousd") : 0;
    const bool over = has_budget && (mtd > budget || projected > budget);
    const double y = 4 + static_cast<double>(i) * row;
    svg += "<text x=\"" + std::to_string(left - 8) + "\" y=\"" + Num(y + 19) + "\" text-anchor=\"end\" font-size=\"12\">" +
           Escape(team) + "</text>";
    if (has_budget)
      svg += "<rect class=\"budget\" x=\"" + std::to_string(left) + "\" y=\"" + Num(y + 4) + "\" width=\"" +
             Num(x_of(budget) - left, "%.2f") + "\" height=\"" + std::to_string(row - 8) +
             "\" fill=\"#e8eef6\" stroke=\"#9fb3cc\" data-team=\"" + Escape(team) + "\" data-nanousd=\"" +
             std::to_string(budget) + "\"><title>budget " + FormatUsd(budget) + "</title></rect>";
    svg += "<rect class=\"mtd\" x=\"" + std::to_string(left) + "\" y=\"" + Num(y + 8) + "\" width=\"" +
           Num(std::max(mtd > 0 ? 1.0 : 0.0, x_of(mtd) - left), "%.2f") + "\" height=\"" + std::to_string(row - 16) +
           "\" fill=\"" + (over ? "#e15759" : "#4e79a7") + "\" data-team=\"" + Escape(team) + "\" data-nanousd=\"" +
           std::to_string(mtd) + "\"><title>month to date " + FormatUsd(mtd) + "</title></rect>";
    svg += "<line class=\"projection\" x1=\"" + Num(x_of(projected)) + "\" x2=\"" + Num(x_of(projected)) + "\" y1=\"" +
           Num(y + 2) + "\" y2=\"" + Num(y + row - 2) + "\" stroke=\"#222\" stroke-width=\"2\" stroke-dasharray=\"3 2\" "
           "data-team=\"" + Escape(team) + "\" data-nanousd=\"" + std::to_string(projected) +
           "\"><title>projected month end " + FormatUsd(projected) + "</title></line>";
    svg += "<text x=\"" + Num(std::max(x_of(std::max({mtd, budget, projected})), static_cast<double>(left)) + 8) +
           "\" y=\"" + Num(y + 19) + "\" font-size=\"12\">" + FormatUsd(mtd) +
           (has_budget ? " of " + FormatUsd(budget) : "") + "</text>";
    const std::string used = t.contains("budget_used_percent") && t["budget_used_percent"].is_number()
                                 ? Num(t["budget_used_percent"].get<double>()) + "%"
                                 : "—";
    table += "<tr><td>" + Escape(team) + "</td><td>" + Escape(S(t, "month")) + "</td><td data-nanousd=\"" +
             std::to_string(mtd) + "\">" + FormatUsd(mtd) + "</td><td" +
             (has_budget ? " data-nanousd=\"" + std::to_string(budget) + "\">" + FormatUsd(budget) : ">—") +
             "</td><td>" + used + "</td><td" + (over ? " class=\"over\"" : "") + " data-nanousd=\"" +
             std::to_string(projected) + "\">" + FormatUsd(projected) + "</td><td data-nanousd=\"" +
             std::to_string(I(t, "daily_average_nanousd")) + "\">" + FormatUsd(I(t, "daily_average_nanousd")) +
             "</td></tr>";
  }
  svg += "</svg><p class=\"meta\">Bars: month to date (red when it or the projection passes the budget); the pale box "
         "is the monthly budget; the dashed line the month-end projection at this month's rate.</p>";
  return svg + table + "</table>";
}

std::string LatencySection(const json& r, const std::map<std::string, size_t>& colour_of) {
  std::vector<Bar> bars;
  std::string table = "<table id=\"latency-table\"><tr><th>model</th><th>calls</th><th>with latency</th><th>avg</th>"
                      "<th>p50</th><th>p95</th><th>p99</th></tr>";
  for (const json& l : A(r, "latency_by_model")) {
    const std::string model = S(l, "model");
    const int64_t p95 = I(l, "p95_latency_us");
    table += "<tr><td>" + Escape(model) + "</td><td>" + Count(I(l, "calls")) + "</td><td>" +
             Count(I(l, "latency_count")) + "</td><td>" + Ms(I(l, "avg_latency_us")) + "</td><td>" +
             Ms(I(l, "p50_latency_us")) + "</td><td data-us=\"" + std::to_string(p95) + "\">" + Ms(p95) +
             "</td><td>" + Ms(I(l, "p99_latency_us")) + "</td></tr>";
    if (I(l, "latency_count") == 0) continue;
    auto c = colour_of.find(model);
    bars.push_back({model, Ms(p95), c != colour_of.end() ? kColours[c->second] : kColours[kModelColours - 1],
                    "data-model=\"" + Escape(model) + "\" data-us=\"" + std::to_string(p95) + "\"",
                    static_cast<double>(p95)});
  }
  return BarChart("latency-chart", "p95 latency by model", bars) + table + "</table>";
}

}  // namespace

std::string FormatUsd(int64_t nanousd) {
  const bool negative = nanousd < 0;
  const uint64_t v = negative ? 0 - static_cast<uint64_t>(nanousd) : static_cast<uint64_t>(nanousd);
  std::string out;
  if (v == 0) return "$0.00";
  if (v >= 1'000'000'000) {
    const uint64_t cents = (v + 5'000'000) / 10'000'000;
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%02u", static_cast<unsigned>(cents % 100));
    out = "$" + Count(static_cast<int64_t>(cents / 100)) + buf;
  } else {
    const uint64_t tenth_millis = (v + 50'000) / 100'000;  // 1e-4 dollars
    char buf[32];
    std::snprintf(buf, sizeof buf, "$%u.%04u", static_cast<unsigned>(tenth_millis / 10000),
                  static_cast<unsigned>(tenth_millis % 10000));
    out = buf;
  }
  return negative ? "-" + out : out;
}

const char* ModelColour(size_t index) { return kColours[std::min(index, kModelColours - 1)]; }

std::string CostReportHtml(const json& r, const std::string& title) {
  const json& summary = O(r, "summary");
  std::vector<std::string> models;
  std::map<std::string, size_t> colour_of;
  for (const json& m : A(r, "models"))
    if (m.is_string()) {
      colour_of[m.get<std::string>()] = std::min(models.size(), kModelColours - 1);
      models.push_back(m.get<std::string>());
    }
  std::string daily_table;
  const std::string daily = DailyChart(r, models, colour_of, &daily_table);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
                     "<title>Cost report: " + Escape(title) + "</title><style>" + Css() + "</style></head><body>\n";
  html += "<h1>Cost report</h1><p class=\"meta\">" + Escape(title) + " · " + Escape(S(summary, "from")) + " to " +
          Escape(S(summary, "to")) + " · generated " + Escape(S(r, "generated_at")) + "</p>\n";
  const int64_t total = I(summary, "total_cost_nanousd"), calls = I(summary, "total_messages");
  html += "<div class=\"cards\"><div class=\"card\" id=\"total-cost\" data-nanousd=\"" + std::to_string(total) +
          "\">total spend<b>" + FormatUsd(total) + "</b></div><div class=\"card\" id=\"total-calls\" data-count=\"" +
          std::to_string(calls) + "\">messages and calls<b>" + Count(calls) + "</b></div><div class=\"card\" "
          "id=\"avg-cost\" data-nanousd=\"" + std::to_string(I(summary, "avg_cost_per_message_nanousd")) +
          "\">average per call<b>" + FormatUsd(I(summary, "avg_cost_per_message_nanousd")) + "</b></div>"
          "<div class=\"card\">models<b>" + Count(static_cast<int64_t>(models.size())) + "</b></div></div>\n";
  html += "<h2>Daily spend by model</h2>" + daily + daily_table + "\n";
  html += "<h2>Top users</h2>" + TopSection(r, "top_users", "user", "users-chart", "#4e79a7", "users_with_spend", "user") + "\n";
  html += "<h2>Top teams</h2>" + TopSection(r, "top_teams", "team", "teams-chart", "#59a14f", "teams_with_spend", "team") + "\n";
  html += "<h2>Team budgets, month to date</h2>" + BudgetSection(r) + "\n";
  html += "<h2>Latency by model (p95)</h2>" + LatencySection(r, colour_of) + "\n";
  html += "<p class=\"meta\">Numbers from convstore's cost report (the same code as cost_summary, group_costs, "
          "team_spend and usage_stats), read from one snapshot. Latency percentiles are within 1% of the exact "
          "value.</p></body></html>\n";
  return html;
}

}  // namespace convstore::cli
