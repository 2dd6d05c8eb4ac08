#include "cost/cost_scan.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "cost/cost_rows.h"
#include "cost/pending.h"
#include "cost/retained.h"
#include "records/lookups.h"
#include "util/validate.h"

namespace convstore::cost {

const char* PlanName(Plan plan) {
  switch (plan) {
    case Plan::kTotals: return "totals";
    case Plan::kRollups: return "rollups";
    case Plan::kConversation: return "conversation";
    case Plan::kRawScan: return "raw_scan";
  }
  return "unknown";
}

Micros FloorHour(Micros t) { return FloorDiv(t, kMicrosPerHour) * kMicrosPerHour; }
Micros CeilHour(Micros t) { return -FloorDiv(-t, kMicrosPerHour) * kMicrosPerHour; }

Status ValidateFilter(const CostFilter& f) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(f.from, "from"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(f.to, "to"));
  if (!f.from) CONVSTORE_RETURN_IF_ERROR(util::CheckRange(f.days, 1, 3660, "days"));
  if (f.from && f.to && *f.from >= *f.to) return Status::InvalidArgument("from must be before to");
  if (f.from && f.to && *f.to - *f.from > kMaxRangeDays * kMicrosPerDay)
    return Status::InvalidArgument(fmt::format("the range spans more than {} days", kMaxRangeDays));
  if (!f.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(f.user_key, "user_key"));
  if (!f.team_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(f.team_key, "team_key"));
  if (!f.conversation_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(f.conversation_id, "conversation_id"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(f.model, "model", limits::kMaxNameBytes));
  if (f.source != "message" && f.source != "api" && f.source != "all")
    return Status::InvalidArgument("source must be \"message\", \"api\" or \"all\"");
  return util::CheckRange(f.utc_offset_minutes, -1440, 1440, "utc_offset_minutes");
}

Result<ResolvedFilter> ResolveFilter(sqlite::Connection& conn, const CostFilter& f, Micros now, bool need_dims) {
  CONVSTORE_RETURN_IF_ERROR(ValidateFilter(f));
  ResolvedFilter r;
  r.to = f.to.value_or(now + 1);  // "up to now" includes rows written at now
  r.from = f.from.value_or(r.to - int64_t{f.days} * kMicrosPerDay);
  if (r.from >= r.to) return Status::InvalidArgument("from must be before to");
  if (r.to - r.from > kMaxRangeDays * kMicrosPerDay)
    return Status::InvalidArgument(fmt::format("the range spans more than {} days", kMaxRangeDays));
  r.source_mask = f.source == "message" ? 1 : f.source == "api" ? 2 : 3;
  r.offset_us = int64_t{f.utc_offset_minutes} * 60'000'000;
  r.model = f.model;
  if (!f.user_key.empty()) {
    // An unknown user, team or conversation selects nothing: the summary is empty, not an error.
    auto id = records::RowOrNone(records::FindUserId(conn, f.user_key));
    if (!id.ok()) return id.status();
    r.user_id = *id;
  }
  if (!f.team_key.empty()) {
    auto id = records::RowOrNone(records::FindTeamId(conn, f.team_key));
    if (!id.ok()) return id.status();
    r.team_id = *id;
  }
  if (!f.conversation_id.empty()) {
    auto id = records::RowOrNone(records::FindConversationRow(conn, f.conversation_id));
    if (!id.ok()) return id.status();
    r.conversation_row = *id;
    r.plan = Plan::kConversation;
  } else if (!need_dims && r.model.empty() && r.user_id == 0) {
    // Everything or a team: hourly totals, so whole-hour offsets are served too.
    if (f.utc_offset_minutes % 60 != 0) {
      r.plan = Plan::kRawScan;
    } else {
      r.plan = Plan::kTotals;
      r.from = FloorHour(r.from);
      r.to = CeilHour(r.to);
    }
  } else if (f.utc_offset_minutes != 0) {
    r.plan = Plan::kRawScan;  // the fine rollups are daily in UTC
  } else {
    r.plan = Plan::kRollups;
    r.from = FloorDiv(r.from, kMicrosPerDay) * kMicrosPerDay;
    r.to = -FloorDiv(-r.to, kMicrosPerDay) * kMicrosPerDay;
  }
  return r;
}

namespace {

bool SourceIn(int source, int mask) { return (mask & (1 << source)) != 0; }

// Days [first, last) covering the hour-aligned range.
std::pair<Micros, Micros> DayRange(Micros from, Micros to) {
  Micros first = FloorDiv(from, kMicrosPerDay) * kMicrosPerDay;
  Micros last = -FloorDiv(-to, kMicrosPerDay) * kMicrosPerDay;
  return {first, last};
}

Status VisitTotals(sqlite::Connection& conn, int scope, int64_t scope_id, Micros from, Micros to, int mask,
                   const std::function<void(const CostRecord&)>& visit) {
  // One seek per day into (day, scope, scope_id): O(days) whatever the number of users or rows.
  auto st = conn.Prepare(
      "WITH RECURSIVE d(day) AS (SELECT ?1 UNION ALL SELECT day + 86400000000 FROM d WHERE day + 86400000000 < ?2)"
      " SELECT t.day, t.source, t.hour, t.count, t.errors, t.tokens_input, t.tokens_output, t.tokens_cached_input,"
      " t.tokens_cache_write, t.tokens_reasoning, t.cost_nanousd"
      " FROM d JOIN cost_totals t ON t.day = d.day AND t.scope = ?3 AND t.scope_id = ?4");
  if (!st.ok()) return st.status();
  auto [first, last] = DayRange(from, to);
  st->Bind(1, first).Bind(2, last).Bind(3, int64_t{scope}).Bind(4, scope_id);
  Measures m;
  CostRecord rec;
  for (;;) {
    auto row = st->Step("read cost totals");
    if (!row.ok()) return row.status();
    if (!*row) break;
    Micros at = st->Int(0) + st->Int(2) * kMicrosPerHour;
    int source = static_cast<int>(st->Int(1));
    if (at < from || at >= to || !SourceIn(source, mask)) continue;
    ReadMeasures(*st, 3, m);
    CONVSTORE_RETURN_IF_ERROR(CheckStoredRow(m, "cost_totals", st->Int(0)));
    rec.at = at;
    rec.source = source;
    rec.measures = &m;
    visit(rec);
  }
  // Plus the rows not folded in yet.
  return VisitPendingRows(conn, [&](const CostRow& r) {
    const Micros at = FloorHour(r.at);
    if ((scope == kScopeTeam && r.team_id != scope_id) || !SourceIn(r.source, mask) || at < from || at >= to) return;
    CostRow counted = r;
    counted.latency_us.reset();
    Measures pending;
    pending.Add(counted, +1);
    rec.at = at;
    rec.source = r.source;
    rec.measures = &pending;
    visit(rec);
  });
}

Status VisitRollups(sqlite::Connection& conn, const ResolvedFilter& f, bool need_hist,
                    const std::function<void(const CostRecord&)>& visit) {
  auto [first, last] = DayRange(f.from, f.to);
  std::optional<sqlite::Stmt> st;
#define CONVSTORE_ROLLUP_SELECT                                                                                \
  "SELECT r.day, r.user_id, r.team_id, r.model, r.source, r.role, r.endpoint, r.status, 0, r.count,"         \
  " r.errors, r.tokens_input, r.tokens_output, r.tokens_cached_input, r.tokens_cache_write, r.tokens_reasoning," \
  " r.cost_nanousd, r.latency_count, r.latency_sum_us, r.latency_hist"
  if (f.user_id != 0) {
    auto p = conn.Prepare(
        "WITH RECURSIVE d(day) AS (SELECT ?1 UNION ALL SELECT day + 86400000000 FROM d WHERE day + 86400000000 < ?2) "
        CONVSTORE_ROLLUP_SELECT " FROM d JOIN cost_rollups r ON r.day = d.day AND r.user_id = ?3");
    if (!p.ok()) return p.status();
    st.emplace(std::move(*p));
    st->Bind(3, f.user_id);
  } else {
    auto p = conn.Prepare(CONVSTORE_ROLLUP_SELECT " FROM cost_rollups r WHERE r.day >= ?1 AND r.day < ?2");
    if (!p.ok()) return p.status();
    st.emplace(std::move(*p));
  }
#undef CONVSTORE_ROLLUP_SELECT
  st->Bind(1, first).Bind(2, last);
  Measures m;
  CostRecord rec;
  for (;;) {
    auto row = st->Step("read cost rollups");
    if (!row.ok()) return row.status();
    if (!*row) break;
    Micros at = st->Int(0);
    int source = static_cast<int>(st->Int(4));
    if (at < f.from || at >= f.to || !SourceIn(source, f.source_mask)) continue;
    rec.user_id = st->Int(1);
    rec.team_id = st->Int(2);
    if (f.user_id != 0 && rec.user_id != f.user_id) continue;
    if (f.team_id && rec.team_id != *f.team_id) continue;
    rec.model = st->Text(3);
    if (!f.model.empty() && rec.model != f.model) continue;
    rec.role = st->Text(5);
    rec.endpoint = st->Text(6);
    rec.status = st->Text(7);
    ReadMeasures(*st, 9, m);
    m.latency_count = st->Int(17);
    m.latency_sum = st->Int(18);
    CONVSTORE_RETURN_IF_ERROR(CheckStoredRow(m, "cost_rollups", at));
    if (need_hist && !LatencyHistogram::Decode(st->Blob(19), m.hist))
      return Status::Corruption("a cost rollup holds a malformed latency histogram; run rebuild_rollups");
    rec.at = at;
    rec.source = source;
    rec.measures = &m;
    visit(rec);
  }
  // Plus the rows not folded in yet.
  return VisitPendingRows(conn, [&](const CostRow& r) {
    const Micros at = FloorDiv(r.at, kMicrosPerDay) * kMicrosPerDay;
    if (at < f.from || at >= f.to || !SourceIn(r.source, f.source_mask)) return;
    if ((f.user_id != 0 && r.user_id != f.user_id) || (f.team_id && r.team_id != *f.team_id)) return;
    if (!f.model.empty() && r.model != f.model) return;
    Measures pending;
    pending.Add(r, +1);
    CostRecord p;
    p.at = at;
    p.user_id = r.user_id;
    p.team_id = r.team_id;
    p.model = r.model;
    p.role = r.role;
    p.endpoint = r.endpoint;
    p.status = r.status;
    p.source = r.source;
    p.measures = &pending;
    visit(p);
  });
}

bool RawMatches(const ResolvedFilter& f, const CostRow& r) {
  if (r.at < f.from || r.at >= f.to) return false;
  if (f.user_id != 0 && r.user_id != f.user_id) return false;
  if (f.team_id && r.team_id != *f.team_id) return false;
  return f.model.empty() || r.model == f.model;
}

// Visits the dimensions of `dims` (its time, user, team, model, source, role, endpoint, status) with `m`.
void VisitRecord(const CostRow& dims, const Measures& m, const std::function<void(const CostRecord&)>& visit) {
  CostRecord rec;
  rec.at = dims.at;
  rec.user_id = dims.user_id;
  rec.team_id = dims.team_id;
  rec.model = dims.model;
  rec.role = dims.role;
  rec.endpoint = dims.endpoint;
  rec.status = dims.status;
  rec.source = dims.source;
  rec.measures = &m;
  visit(rec);
}

void VisitRaw(const CostRow& r, const std::function<void(const CostRecord&)>& visit) {
  Measures m;
  m.Add(r, +1);
  VisitRecord(r, m, visit);
}

Status VisitRawRows(sqlite::Connection& conn, const ResolvedFilter& f,
                    const std::function<void(const CostRecord&)>& visit) {
  const bool by_conversation = f.plan == Plan::kConversation;
  if (f.source_mask & 1) {
    auto st = by_conversation
                  ? conn.Prepare(CONVSTORE_MESSAGE_COST_ROWS("WHERE m.conversation_id = ?1"))
                  : conn.Prepare(CONVSTORE_MESSAGE_COST_ROWS("WHERE m.created_at >= ?2 AND m.created_at < ?3"));
    if (!st.ok()) return st.status();
    if (by_conversation) st->Bind(1, f.conversation_row);
    else st->Bind(2, f.from).Bind(3, f.to);
    for (;;) {
      auto row = st->Step("scan messages");
      if (!row.ok()) return row.status();
      if (!*row) break;
      CostRow r;
      ReadMessageCostRow(*st, 0, r);
      if (RawMatches(f, r)) VisitRaw(r, visit);
    }
  }
  if (f.source_mask & 2) {
    auto st = by_conversation
                  ? conn.Prepare("SELECT " CONVSTORE_USAGE_COST_COLUMNS " FROM api_usage a"
                                 " WHERE a.conversation_id = ?1")
                  : conn.Prepare("SELECT " CONVSTORE_USAGE_COST_COLUMNS " FROM api_usage a"
                                 " WHERE a.recorded_at >= ?2 AND a.recorded_at < ?3");
    if (!st.ok()) return st.status();
    if (by_conversation) st->Bind(1, f.conversation_row);
    else st->Bind(2, f.from).Bind(3, f.to);
    for (;;) {
      auto row = st->Step("scan api usage");
      if (!row.ok()) return row.status();
      if (!*row) break;
      CostRow r;
      ReadUsageCostRow(*st, 0, r);
      if (RawMatches(f, r)) VisitRaw(r, visit);
    }
  }
  // Rows removed by retention are counted at the start of their hour; a removed conversation's rows have no
  // conversation to filter by.
  if (by_conversation) return Status::OK();
  return VisitRetained(conn, f.from, f.to, [&](const CostRow& key, const Measures& m) {
    if (SourceIn(key.source, f.source_mask) && RawMatches(f, key)) VisitRecord(key, m, visit);
  });
}

}  // namespace

Status VisitCosts(sqlite::Connection& conn, const ResolvedFilter& f, bool need_hist,
                  const std::function<void(const CostRecord&)>& visit) {
  switch (f.plan) {
    case Plan::kTotals: {
      int scope = f.team_id ? kScopeTeam : kScopeAll;
      int64_t id = f.team_id.value_or(0);
      return VisitTotals(conn, scope, id, f.from, f.to, f.source_mask, visit);
    }
    case Plan::kRollups: return VisitRollups(conn, f, need_hist, visit);
    case Plan::kConversation:
    case Plan::kRawScan: return VisitRawRows(conn, f, visit);
  }
  return Status::Internal("unknown plan");
}

Result<Measures> SumScope(sqlite::Connection& conn, int scope, int64_t scope_id, Micros from, Micros to,
                          int source_mask) {
  Measures sum;
  auto add = [&](const CostRecord& rec) { sum.Merge(*rec.measures); };
  Status s;
  if (scope == kScopeUser) {
    ResolvedFilter f;
    f.from = FloorDiv(from, kMicrosPerDay) * kMicrosPerDay;
    f.to = -FloorDiv(-to, kMicrosPerDay) * kMicrosPerDay;
    f.user_id = scope_id;
    f.source_mask = source_mask;
    f.plan = Plan::kRollups;
    s = VisitRollups(conn, f, false, add);
  } else {
    s = VisitTotals(conn, scope, scope_id, from, to, source_mask, add);
  }
  if (!s.ok()) return s;
  return sum;
}

}  // namespace convstore::cost
