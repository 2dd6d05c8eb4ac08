#include "cost/reports.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "cost/calendar.h"
#include "cost/cost_scan.h"
#include "cost/pending.h"
#include "cost/rollup_check.h"
#include "cost/rollups.h"
#include "util/validate.h"
#include "util/int128.h"

namespace convstore::cost {

namespace {

int64_t LocalDays(Micros at, int64_t offset_us) { return FloorDiv(at + offset_us, kMicrosPerDay); }

// True when every argument is; each is evaluated first (every AddInto adds into its total).
template <typename... Bools>
bool AllOf(Bools... b) {
  return (b && ...);
}

// Keys of users and teams by row id, loaded on first use.
class KeyNames {
 public:
  KeyNames(sqlite::Connection& conn, const char* sql) : conn_(conn), sql_(sql) {}
  Result<std::string> Get(int64_t id) {
    if (id == 0) return std::string();
    if (auto it = names_.find(id); it != names_.end()) return it->second;
    auto st = conn_.Prepare(sql_);
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    auto row = st->Step("read key");
    if (!row.ok()) return row.status();
    std::string key = *row ? st->String(0) : fmt::format("#{}", id);
    names_.emplace(id, key);
    return key;
  }

 private:
  sqlite::Connection& conn_;
  const char* sql_;
  std::unordered_map<int64_t, std::string> names_;
};

const std::vector<std::string>& KnownDimensions() {
  static const std::vector<std::string> dims = {"day",  "week", "month",    "user",   "team",
                                                "model", "role", "endpoint", "status", "source"};
  return dims;
}

Status TotalsTooLarge() { return Status::TooLarge("the totals of this query leave the 64-bit integer range"); }

NanoUsd DivRound(util::Int128 num, util::Int128 den) {
  if (den <= 0) return 0;
  return static_cast<NanoUsd>((num * 2 + den) / (den * 2));  // half up, num >= 0
}

}  // namespace

Result<CostSummary> SummarizeCosts(sqlite::Connection& conn, const CostFilter& filter, Micros now) {
  auto f = ResolveFilter(conn, filter, now, false);
  if (!f.ok()) return f.status();
  std::map<int64_t, DailyCost> days;  // local day -> totals
  bool exact = true;
  Status s = VisitCosts(conn, *f, false, [&](const CostRecord& rec) {
    DailyCost& d = days[LocalDays(rec.at, f->offset_us)];
    const Measures& m = *rec.measures;
    exact &= !m.overflow && AllOf(AddInto(d.message_count, m.count), AddInto(d.tokens_input, m.tokens[0]),
                                  AddInto(d.tokens_output, m.tokens[1]), AddInto(d.cost_nanousd, m.cost));
  });
  if (!s.ok()) return s;
  CostSummary out;
  out.from = f->from;
  out.to = f->to;
  out.plan = PlanName(f->plan);
  for (auto it = days.rbegin(); it != days.rend(); ++it) {
    if (it->second.message_count == 0 && it->second.cost_nanousd == 0) continue;
    it->second.date = FormatDate(it->first);
    exact &= AllOf(AddInto(out.total_cost_nanousd, it->second.cost_nanousd),
                   AddInto(out.total_messages, it->second.message_count));
    out.daily.push_back(std::move(it->second));
  }
  if (!exact) return TotalsTooLarge();
  out.avg_cost_per_message_nanousd = DivRound(out.total_cost_nanousd, out.total_messages);
  return out;
}

Status ValidateGroupBy(const std::vector<std::string>& group_by) {
  if (group_by.empty() || group_by.size() > 4)
    return Status::InvalidArgument("group_by needs 1 to 4 dimensions");
  for (size_t i = 0; i < group_by.size(); ++i) {
    const auto& dims = KnownDimensions();
    if (std::find(dims.begin(), dims.end(), group_by[i]) == dims.end())
      return Status::InvalidArgument(fmt::format(
          "group_by[{}] '{}' is not one of day, week, month, user, team, model, role, endpoint, status, source", i,
          group_by[i]));
    if (std::find(group_by.begin(), group_by.begin() + static_cast<std::ptrdiff_t>(i), group_by[i]) !=
        group_by.begin() + static_cast<std::ptrdiff_t>(i))
      return Status::InvalidArgument(fmt::format("group_by names '{}' twice", group_by[i]));
  }
  return Status::OK();
}

Result<CostGroupResult> GroupCosts(sqlite::Connection& conn, const CostFilter& filter,
                                   const std::vector<std::string>& group_by, Micros now) {
  {
    // Groups report latency, which only the per-user rollups keep: never the totals plan.
    auto f = ResolveFilter(conn, filter, now, /*need_dims=*/true);
    if (!f.ok()) return f.status();
    KeyNames users(conn, "SELECT key FROM users WHERE id = ?1");
    KeyNames teams(conn, "SELECT key FROM teams WHERE id = ?1");
    std::map<std::vector<std::string>, Measures> groups;
    Status failure;
    Status s = VisitCosts(conn, *f, false, [&](const CostRecord& rec) {
      std::vector<std::string> key;
      key.reserve(group_by.size());
      for (const std::string& dim : group_by) {
        int64_t days = LocalDays(rec.at, f->offset_us);
        if (dim == "day") key.push_back(FormatDate(days));
        else if (dim == "week") key.push_back(FormatDate(WeekStartDays(days)));
        else if (dim == "month") key.push_back(FormatMonth(days));
        else if (dim == "user" || dim == "team") {
          auto name = dim == "user" ? users.Get(rec.user_id) : teams.Get(rec.team_id);
          if (!name.ok()) {
            failure = name.status();
            return;
          }
          key.push_back(std::move(*name));
        } else if (dim == "model") key.emplace_back(rec.model);
        else if (dim == "role") key.emplace_back(rec.role);
        else if (dim == "endpoint") key.emplace_back(rec.endpoint);
        else if (dim == "status") key.emplace_back(rec.status);
        else key.emplace_back(rec.source == kSourceMessage ? "message" : "api");
      }
      groups[std::move(key)].Merge(*rec.measures);
    });
    if (!s.ok()) return s;
    if (!failure.ok()) return failure;
    for (const auto& entry : groups)
      if (entry.second.overflow) return TotalsTooLarge();
    CostGroupResult out;
    out.group_by = group_by;
    out.plan = PlanName(f->plan);
    for (auto& [key, m] : groups) {
      if (m.count == 0 && m.cost == 0) continue;
      CostGroup& g = out.groups.emplace_back();
      g.keys = key;
      g.count = m.count;
      g.errors = m.errors;
      g.tokens_input = m.tokens[0];
      g.tokens_output = m.tokens[1];
      g.tokens_cached_input = m.tokens[2];
      g.tokens_cache_write = m.tokens[3];
      g.tokens_reasoning = m.tokens[4];
      g.cost_nanousd = m.cost;
      g.latency_count = m.latency_count;
      g.latency_sum_us = m.latency_sum;
    }
    return out;
  }
}

namespace {

// The latency fields UsageStat and ModelLatency share, from one group's measures.
template <typename Latency>
void FillLatency(const Measures& m, Latency* out) {
  out->latency_count = m.latency_count;
  out->avg_latency_us = m.latency_count > 0 ? DivRound(m.latency_sum, m.latency_count) : 0;
  out->p50_latency_us = m.hist.Percentile(0.50);
  out->p95_latency_us = m.hist.Percentile(0.95);
  out->p99_latency_us = m.hist.Percentile(0.99);
}

}  // namespace

Result<std::vector<UsageStat>> UsageStats(sqlite::Connection& conn, const CostFilter& filter, Micros now) {
  auto f = ResolveFilter(conn, filter, now, true);
  if (!f.ok()) return f.status();
  std::map<std::pair<int64_t, std::string>, Measures> groups;
  Status s = VisitCosts(conn, *f, true, [&](const CostRecord& rec) {
    groups[{rec.user_id, std::string(rec.model)}].Merge(*rec.measures);
  });
  if (!s.ok()) return s;
  KeyNames users(conn, "SELECT key FROM users WHERE id = ?1");
  std::vector<UsageStat> out;
  for (auto& [key, m] : groups) {
    if (m.overflow) return TotalsTooLarge();
    if (m.count == 0) continue;
    auto user = users.Get(key.first);
    if (!user.ok()) return user.status();
    UsageStat& u = out.emplace_back();
    u.user_key = std::move(*user);
    u.model = key.second;
    u.calls = m.count;
    u.errors = m.errors;
    u.tokens_input = m.tokens[0];
    u.tokens_output = m.tokens[1];
    u.cost_nanousd = m.cost;
    FillLatency(m, &u);
  }
  std::sort(out.begin(), out.end(), [](const UsageStat& a, const UsageStat& b) {
    return std::tie(a.user_key, a.model) < std::tie(b.user_key, b.model);
  });
  return out;
}

Result<std::vector<ModelLatency>> LatencyByModel(sqlite::Connection& conn, const CostFilter& filter, Micros now) {
  auto f = ResolveFilter(conn, filter, now, true);
  if (!f.ok()) return f.status();
  std::map<std::string, Measures> groups;
  Status s = VisitCosts(conn, *f, true,
                        [&](const CostRecord& rec) { groups[std::string(rec.model)].Merge(*rec.measures); });
  if (!s.ok()) return s;
  std::vector<ModelLatency> out;
  for (auto& [model, m] : groups) {
    if (m.overflow) return TotalsTooLarge();
    if (m.count == 0) continue;
    ModelLatency& l = out.emplace_back();
    l.model = model;
    l.calls = m.count;
    FillLatency(m, &l);
  }
  return out;
}

Result<std::vector<std::string>> TeamKeys(sqlite::Connection& conn) {
  auto st = conn.Prepare("SELECT key FROM teams ORDER BY key");
  if (!st.ok()) return st.status();
  std::vector<std::string> keys;
  for (;;) {
    auto row = st->Step("list teams");
    if (!row.ok()) return row.status();
    if (!*row) break;
    keys.emplace_back(st->Text(0));
  }
  return keys;
}

Result<TeamSpend> TeamSpendOf(sqlite::Connection& conn, std::string_view team_key, int lookback_days, Micros now) {
  auto st = conn.Prepare("SELECT id, monthly_budget_nanousd FROM teams WHERE key = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, team_key);
  auto row = st->Step("find team");
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(fmt::format("team '{}' does not exist", team_key));
  const int64_t team_id = st->Int(0);
  TeamSpend out;
  out.team_key = team_key;
  out.monthly_budget_nanousd = st->OptInt(1);
  out.lookback_days = lookback_days;

  const int64_t today = FloorDiv(now, kMicrosPerDay);
  const int64_t month_start_days = MonthStartDays(today);
  const CivilDate civil = CivilFromDays(today);
  const Micros month_start = month_start_days * kMicrosPerDay;
  const Micros month_end = month_start + int64_t{DaysInMonth(civil.year, civil.month)} * kMicrosPerDay;
  out.month = FormatMonth(today);
  const Micros through_now = CeilHour(now + 1);
  auto mtd = SumScope(conn, kScopeTeam, team_id, month_start, through_now, 3);
  if (!mtd.ok()) return mtd.status();
  if (mtd->overflow) return TotalsTooLarge();
  out.month_to_date_nanousd = mtd->cost;
  if (out.monthly_budget_nanousd && *out.monthly_budget_nanousd > 0)
    out.budget_used_percent =
        100.0 * static_cast<double>(out.month_to_date_nanousd) / static_cast<double>(*out.monthly_budget_nanousd);
  const Micros elapsed = std::max<Micros>(now - month_start, 1);
  const util::Int128 projected =
      (static_cast<util::Int128>(out.month_to_date_nanousd) * (month_end - month_start) * 2 + elapsed) /
      (util::Int128{2} * elapsed);
  if (projected > INT64_MAX) return TotalsTooLarge();
  out.projected_month_end_nanousd = static_cast<NanoUsd>(projected);
  const Micros lookback_from = through_now - int64_t{lookback_days} * kMicrosPerDay;
  auto recent = SumScope(conn, kScopeTeam, team_id, lookback_from, through_now, 3);
  if (!recent.ok()) return recent.status();
  if (recent->overflow) return TotalsTooLarge();
  out.daily_average_nanousd = DivRound(recent->cost, lookback_days);
  if (__builtin_mul_overflow(out.daily_average_nanousd, 30, &out.monthly_projection_nanousd) ||
      __builtin_mul_overflow(out.monthly_projection_nanousd, 12, &out.annual_projection_nanousd))
    return TotalsTooLarge();
  return out;
}

Result<RollupReport> CheckRollups(sqlite::Connection& conn, bool repair) {
  RollupReport report;
  auto expected = RecomputeFromRaw(conn, &report.raw_rows);
  if (!expected.ok()) return expected.status();
  CONVSTORE_RETURN_IF_ERROR(CompareRollups(conn, *expected, report));
  if (repair && report.differences > 0) {
    CONVSTORE_RETURN_IF_ERROR(ReplaceRollups(conn, *expected));
    report.repaired = true;
  } else if (repair) {
    // Right, but perhaps with more pending than a writer leaves: the watermark is not journaled, so a replay adds
    // messages past it. A fold would also fold the conversations the replay set; setting the rollups again puts the
    // watermark below their pending messages instead, and leaves their rows as replayed.
    auto due = FoldDue(conn);
    if (!due.ok()) return due.status();
    if (*due) CONVSTORE_RETURN_IF_ERROR(ReplaceRollups(conn, *expected));
  }
  return report;
}

}  // namespace convstore::cost
