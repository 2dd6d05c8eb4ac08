#include "cost/rollup_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "cost/cost_rows.h"
#include "cost/pending.h"
#include "cost/price_lookup.h"
#include "cost/retained.h"
#include "records/conversation_counters.h"
#include "util/validate.h"
#include "util/utf8.h"

namespace convstore::cost {

void WideMeasures::Add(const CostRow& row, int sign) {
  count += sign;
  if (row.status == "error") errors += sign;
  for (int i = 0; i < 5; ++i) tokens[i] += util::Int128{sign} * row.tokens[i];
  cost += util::Int128{sign} * row.cost;
  if (row.latency_us) {
    latency_count += sign;
    latency_sum += util::Int128{sign} * *row.latency_us;
    hist.Add(*row.latency_us, sign);
  }
}

void WideMeasures::Merge(const Measures& m) {
  count += m.count;
  errors += m.errors;
  for (int i = 0; i < 5; ++i) tokens[i] += m.tokens[i];
  cost += m.cost;
  latency_count += m.latency_count;
  latency_sum += m.latency_sum;
  hist.Merge(m.hist);
}

namespace {
bool InInt64(util::Int128 v) { return v >= INT64_MIN && v <= INT64_MAX; }
}  // namespace

void WideMeasures::Merge(const WideMeasures& o) {
  count += o.count;
  errors += o.errors;
  for (int i = 0; i < 5; ++i) tokens[i] += o.tokens[i];
  cost += o.cost;
  latency_count += o.latency_count;
  latency_sum += o.latency_sum;
  hist.Merge(o.hist);
}

bool WideMeasures::Fits() const {
  bool ok = InInt64(count) && InInt64(errors) && InInt64(cost) && InInt64(latency_count) && InInt64(latency_sum);
  for (util::Int128 t : tokens) ok = ok && InInt64(t);
  return ok;
}

Measures WideMeasures::Narrow() const {
  Measures m;
  m.count = static_cast<int64_t>(count);
  m.errors = static_cast<int64_t>(errors);
  for (int i = 0; i < 5; ++i) m.tokens[i] = static_cast<int64_t>(tokens[i]);
  m.cost = static_cast<int64_t>(cost);
  m.latency_count = static_cast<int64_t>(latency_count);
  m.latency_sum = static_cast<int64_t>(latency_sum);
  m.hist = hist;
  return m;
}

bool WideMeasures::zero() const {
  if (count != 0 || errors != 0 || cost != 0 || latency_count != 0 || latency_sum != 0 || !hist.empty()) return false;
  for (util::Int128 t : tokens)
    if (t != 0) return false;
  return true;
}

bool WideMeasures::operator==(const WideMeasures& o) const {
  for (int i = 0; i < 5; ++i)
    if (tokens[i] != o.tokens[i]) return false;
  return count == o.count && errors == o.errors && cost == o.cost && latency_count == o.latency_count &&
         latency_sum == o.latency_sum && hist == o.hist;
}

Status ForEachRawCostRow(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit) {
  // Earlier migrations' steps recompute before migration 5 has created the tombstones.
  auto tombstones = conn.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                                  " AND name = 'message_tombstones'",
                                  "find the tombstones table");
  if (!tombstones.ok()) return tombstones.status();
  auto msgs = tombstones->value_or(0) != 0
                  ? conn.Prepare(CONVSTORE_MESSAGE_COST_ROWS(""))
                  : conn.Prepare("SELECT " CONVSTORE_MESSAGE_COST_COLUMNS
                                 " FROM messages m JOIN conversations c ON c.id = m.conversation_id");
  if (!msgs.ok()) return msgs.status();
  CostRow r;
  for (;;) {
    auto row = msgs->Step("scan messages");
    if (!row.ok()) return row.status();
    if (!*row) break;
    r = CostRow{};
    ReadMessageCostRow(*msgs, 0, r);
    visit(r);
  }
  auto usage = conn.Prepare("SELECT " CONVSTORE_USAGE_COST_COLUMNS " FROM api_usage a");
  if (!usage.ok()) return usage.status();
  for (;;) {
    auto row = usage->Step("scan api usage");
    if (!row.ok()) return row.status();
    if (!*row) break;
    r = CostRow{};
    ReadUsageCostRow(*usage, 0, r);
    visit(r);
  }
  return Status::OK();
}

Result<WideDelta> RecomputeFromRaw(sqlite::Connection& conn, int64_t* raw_rows) {
  WideDelta d;
  int64_t n = 0;
  CONVSTORE_RETURN_IF_ERROR(ForEachRawCostRow(conn, [&](const CostRow& r) {
    d.Add(r, +1);
    ++n;
  }));
  // What retention removed stays counted (cost_retained, from migration 9).
  auto retained = conn.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'cost_retained'",
                                "find the retained cost table");
  if (!retained.ok()) return retained.status();
  if (retained->value_or(0) != 0) {
    CONVSTORE_RETURN_IF_ERROR(VisitRetained(conn, INT64_MIN, INT64_MAX, [&](const CostRow& key, const Measures& m) {
      d.fine[FineKeyOf(key)].Merge(m);
      Measures no_latency = m;  // the scope totals keep no latencies
      no_latency.latency_count = no_latency.latency_sum = 0;
      no_latency.hist = LatencyHistogram();
      TotalKey keys[2];
      for (int i = 0, keys_n = TotalKeysOf(key, keys); i < keys_n; ++i) d.totals[keys[i]].Merge(no_latency);
    }));
  }
  for (auto it = d.fine.begin(); it != d.fine.end();) it = it->second.zero() ? d.fine.erase(it) : std::next(it);
  for (auto it = d.totals.begin(); it != d.totals.end();)
    it = it->second.zero() ? d.totals.erase(it) : std::next(it);
  if (raw_rows) *raw_rows = n;
  return d;
}

namespace {

std::string Str(util::Int128 v) { return util::Int128ToString(v); }

std::string Describe(const WideMeasures& want, const WideMeasures* have) {
  if (!have) return fmt::format("missing (expected count {}, cost {})", Str(want.count), Str(want.cost));
  return fmt::format("count {} (expected {}), cost {} (expected {}), latency_count {} (expected {})",
                     Str(have->count), Str(want.count), Str(have->cost), Str(want.cost), Str(have->latency_count),
                     Str(want.latency_count));
}

// Model names come from the file: quoted in samples, which must stay valid UTF-8.
std::string Quoted(const std::string& model) { return "'" + util::EscapeInvalidUtf8(model) + "'"; }

}  // namespace

Status CompareRollups(sqlite::Connection& conn, const WideDelta& expected, RollupReport& report) {
  report.rollup_rows = static_cast<int64_t>(expected.fine.size());
  report.total_rows = static_cast<int64_t>(expected.totals.size());
  auto note = [&](std::string text) {
    if (report.samples.size() < 20) report.samples.push_back(std::move(text));
  };
  auto overflow = [&](const std::string& what) {
    ++report.overflows;
    note(what + ": the exact sum passes the 64-bit integer range (overflow): the rows beyond it stay pending and "
                "summaries of that day report too_large");
  };
  std::map<FineKey, WideMeasures> seen_fine;
  auto fine = conn.Prepare(
      "SELECT day, user_id, team_id, model, source, role, endpoint, status, 0, count, errors, tokens_input,"
      " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_count,"
      " latency_sum_us, latency_hist FROM cost_rollups");
  if (!fine.ok()) return fine.status();
  for (;;) {
    auto row = fine->Step("read cost rollups");
    if (!row.ok()) return row.status();
    if (!*row) break;
    FineKey k{fine->Int(0),    fine->Int(1),    fine->Int(2),    fine->String(3),
              static_cast<int>(fine->Int(4)), fine->String(5), fine->String(6), fine->String(7)};
    Measures m;
    ReadMeasures(*fine, 9, m);
    m.latency_count = fine->Int(17);
    m.latency_sum = fine->Int(18);
    if (!LatencyHistogram::Decode(fine->Blob(19), m.hist)) {
      ++report.differences;
      note("cost_rollups: malformed latency histogram");
    }
    seen_fine[k].Merge(m);
  }
  // What is stored is the rollups plus the pending rows. Damaged pending rows or watermark are a difference (a
  // rebuild replaces them).
  WideDelta pending;
  Status visited = VisitPendingRows(conn, [&](const CostRow& r) { pending.Add(r, +1); });
  if (visited.code() == Code::kCorruption) {
    ++report.differences;
    note(visited.message());
  } else if (!visited.ok()) {
    return visited;
  }
  for (const auto& [k, m] : pending.fine) seen_fine[k].Merge(m);
  for (auto it = seen_fine.begin(); it != seen_fine.end();) it = it->second.zero() ? seen_fine.erase(it) : std::next(it);
  for (const auto& [k, want] : expected.fine) {
    auto it = seen_fine.find(k);
    const std::string where =
        fmt::format("cost_rollups day {} user {} model {} source {}", k.day, k.user_id, Quoted(k.model), k.source);
    if (it == seen_fine.end() || !(it->second == want)) {
      ++report.differences;
      note(where + ": " + Describe(want, it == seen_fine.end() ? nullptr : &it->second));
    } else if (!want.Fits()) {
      overflow(where);
    }
  }
  for (const auto& [k, have] : seen_fine)
    if (!expected.fine.count(k)) {
      ++report.differences;
      note(fmt::format("cost_rollups day {} user {} model {}: unexpected row (count {}, cost {})", k.day, k.user_id,
                       Quoted(k.model), Str(have.count), Str(have.cost)));
    }

  std::map<TotalKey, WideMeasures> seen_totals;
  auto totals = conn.Prepare(
      "SELECT day, scope, scope_id, source, hour, count, errors, tokens_input, tokens_output, tokens_cached_input,"
      " tokens_cache_write, tokens_reasoning, cost_nanousd FROM cost_totals");
  if (!totals.ok()) return totals.status();
  for (;;) {
    auto row = totals->Step("read cost totals");
    if (!row.ok()) return row.status();
    if (!*row) break;
    TotalKey k{totals->Int(0), static_cast<int>(totals->Int(1)), totals->Int(2), static_cast<int>(totals->Int(3)),
               static_cast<int>(totals->Int(4))};
    Measures m;
    ReadMeasures(*totals, 5, m);
    seen_totals[k].Merge(m);
  }
  for (const auto& [k, m] : pending.totals) seen_totals[k].Merge(m);
  for (auto it = seen_totals.begin(); it != seen_totals.end();)
    it = it->second.zero() ? seen_totals.erase(it) : std::next(it);
  for (const auto& [k, want] : expected.totals) {
    auto it = seen_totals.find(k);
    const std::string where =
        fmt::format("cost_totals day {} scope {} id {} source {} hour {}", k.day, k.scope, k.scope_id, k.source, k.hour);
    if (it == seen_totals.end() || !(it->second == want)) {
      ++report.differences;
      note(where + ": " + Describe(want, it == seen_totals.end() ? nullptr : &it->second));
    } else if (!want.Fits()) {
      overflow(where);
    }
  }
  for (const auto& [k, have] : seen_totals)
    if (!expected.totals.count(k)) {
      ++report.differences;
      note(fmt::format("cost_totals day {} scope {} id {} hour {}: unexpected row (count {}, cost {})", k.day,
                       k.scope, k.scope_id, k.hour, Str(have.count), Str(have.cost)));
    }
  return Status::OK();
}

namespace {

// Sets the watermark for a rebuild and returns it (nullopt before migration 13 made it: every message is counted).
// It stays below every conversation's pending messages, where listings look for them, so a rebuild leaves the
// conversations' rows as they are (a point-in-time restore replays them exactly and then rebuilds); the messages
// above it stay pending cost rows. Only when that would leave kPendingMergeRows or more pending (a damaged file)
// are the conversations folded and every message counted.
Result<std::optional<int64_t>> ResetWatermark(sqlite::Connection& conn) {
  auto exists = conn.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'cost_fold'",
                              "find the cost watermark");
  if (!exists.ok()) return exists.status();
  if (exists->value_or(0) == 0) return std::optional<int64_t>();
  auto newest = conn.QueryInt("SELECT coalesce(max(id), 0) FROM messages", "find the newest message");
  if (!newest.ok()) return newest.status();
  int64_t through = newest->value_or(0);
  auto oldest = records::OldestPendingMessageId(conn);
  if (!oldest.ok()) return oldest.status();
  if (*oldest && through - (**oldest - 1) < kPendingMergeRows)
    through = **oldest - 1;
  else if (*oldest)
    CONVSTORE_RETURN_IF_ERROR(records::FoldAllConversations(conn));
  CONVSTORE_RETURN_IF_ERROR(conn.Run("INSERT OR REPLACE INTO cost_fold(id, messages_through) VALUES (1, ?1)",
                                     "set the cost watermark", through));
  return std::optional<int64_t>(through);
}

}  // namespace

Status ReplaceRollups(sqlite::Connection& conn, const WideDelta& all_rows) {
  CONVSTORE_RETURN_IF_ERROR(
      conn.Exec("DELETE FROM cost_rollups; DELETE FROM cost_totals; DELETE FROM cost_pending;", "clear rollups"));
  auto through = ResetWatermark(conn);
  if (!through.ok()) return through.status();
  // The rollups count every raw row but the messages past the watermark, which count as pending.
  std::vector<CostRow> past;
  if (*through) CONVSTORE_RETURN_IF_ERROR(VisitPendingMessages(conn, [&](const CostRow& r) { past.push_back(r); }));
  WideDelta expected = all_rows;
  for (const CostRow& r : past) expected.Add(r, -1);
  std::erase_if(expected.fine, [](const auto& e) { return e.second.zero(); });
  std::erase_if(expected.totals, [](const auto& e) { return e.second.zero(); });
  std::set<FineKey> fine_over;
  std::set<TotalKey> totals_over;
  for (const auto& [k, m] : expected.fine)
    if (!m.Fits()) fine_over.insert(k);
  for (const auto& [k, m] : expected.totals)
    if (!m.Fits()) totals_over.insert(k);
  RollupDelta fit;
  if (fine_over.empty() && totals_over.empty()) {
    for (const auto& [k, m] : expected.fine) fit.fine.emplace(k, m.Narrow());
    for (const auto& [k, m] : expected.totals) fit.totals.emplace(k, m.Narrow());
    return ApplyDelta(conn, fit);
  }
  // Rows counted under an overflowing key stay pending, like the writers leave them; the others (sums of
  // non-negative values below a sum that fits) go into the rollups.
  Status status;
  CONVSTORE_RETURN_IF_ERROR(ForEachRawCostRow(conn, [&](const CostRow& r) {
    if (!status.ok()) return;
    // A message past the watermark is pending in place (an equal row stands for it).
    if (auto it = std::find(past.begin(), past.end(), r); it != past.end()) {
      past.erase(it);
      return;
    }
    bool over = fine_over.count(FineKeyOf(r)) != 0;
    TotalKey keys[2];
    for (int i = 0, n = TotalKeysOf(r, keys); i < n; ++i) over = over || totals_over.count(keys[i]) != 0;
    if (over)
      status = AppendPending(conn, r);
    else
      fit.Add(r, +1);
  }));
  CONVSTORE_RETURN_IF_ERROR(status);
  return ApplyDelta(conn, fit);
}

namespace {

// count, errors, tokens and cost: what totals and rollups share.
bool SameSums(const WideMeasures& a, const WideMeasures& b) {
  for (int i = 0; i < 5; ++i)
    if (a.tokens[i] != b.tokens[i]) return false;
  return a.count == b.count && a.errors == b.errors && a.cost == b.cost;
}

// Stored + pending of one rollup key, exactly; false when the stored row cannot be read.
Result<WideMeasures> StoredFine(sqlite::Connection& conn, const FineKey& k) {
  auto st = conn.Prepare(
      "SELECT count, errors, tokens_input, tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning,"
      " cost_nanousd, latency_count, latency_sum_us FROM cost_rollups WHERE day = ?1 AND user_id = ?2"
      " AND team_id = ?3 AND model = ?4 AND source = ?5 AND role = ?6 AND endpoint = ?7 AND status = ?8");
  if (!st.ok()) return st.status();
  st->Bind(1, k.day).Bind(2, k.user_id).Bind(3, k.team_id).Bind(4, k.model).Bind(5, int64_t{k.source});
  st->Bind(6, k.role).Bind(7, k.endpoint).Bind(8, k.status);
  auto row = st->Step("read a cost rollup");
  if (!row.ok()) return row.status();
  WideMeasures w;
  if (*row) {
    Measures m;
    ReadMeasures(*st, 0, m);
    m.latency_count = st->Int(8);
    m.latency_sum = st->Int(9);
    w.Merge(m);
  }
  st->Reset();
  return w;
}

Result<WideMeasures> StoredTotal(sqlite::Connection& conn, const TotalKey& k) {
  auto st = conn.Prepare(
      "SELECT count, errors, tokens_input, tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning,"
      " cost_nanousd FROM cost_totals WHERE day = ?1 AND scope = ?2 AND scope_id = ?3 AND source = ?4 AND hour = ?5");
  if (!st.ok()) return st.status();
  st->Bind(1, k.day).Bind(2, int64_t{k.scope}).Bind(3, k.scope_id).Bind(4, int64_t{k.source});
  st->Bind(5, int64_t{k.hour});
  auto row = st->Step("read a cost total");
  if (!row.ok()) return row.status();
  WideMeasures w;
  if (*row) {
    Measures m;
    ReadMeasures(*st, 0, m);
    w.Merge(m);
  }
  st->Reset();
  return w;
}

// Pending rows that could be folded: those none of whose keys would pass the int64 range with everything pending.
Result<int64_t> FoldablePending(sqlite::Connection& conn, const std::vector<CostRow>& rows) {
  WideDelta pending;
  for (const CostRow& r : rows) pending.Add(r, +1);
  std::set<FineKey> fine_over;
  std::set<TotalKey> totals_over;
  for (const auto& [k, m] : pending.fine) {
    auto stored = StoredFine(conn, k);
    if (!stored.ok()) return stored.status();
    stored->Merge(m);
    if (!stored->Fits()) fine_over.insert(k);
  }
  for (const auto& [k, m] : pending.totals) {
    auto stored = StoredTotal(conn, k);
    if (!stored.ok()) return stored.status();
    stored->Merge(m);
    if (!stored->Fits()) totals_over.insert(k);
  }
  int64_t foldable = 0;
  for (const CostRow& r : rows) {
    bool over = fine_over.count(FineKeyOf(r)) != 0;
    TotalKey keys[2];
    for (int i = 0, n = TotalKeysOf(r, keys); i < n; ++i) over = over || totals_over.count(keys[i]) != 0;
    if (!over) ++foldable;
  }
  return foldable;
}

}  // namespace

Status CheckRollupInvariants(sqlite::Connection& conn) {
  std::vector<std::string> problems;
  using DayKey = std::tuple<int64_t, int, int64_t, int>;  // day, scope (0 everything, 1 team), scope id, source
  std::map<DayKey, WideMeasures> from_rollups, from_totals;
  int64_t implausible = 0, bad_hist = 0;
  {
    auto st = conn.Prepare(
        "SELECT day, team_id, source, count, errors, tokens_input, tokens_output, tokens_cached_input,"
        " tokens_cache_write, tokens_reasoning, cost_nanousd, latency_count, latency_sum_us, latency_hist"
        " FROM cost_rollups");
    if (!st.ok()) return st.status();
    Measures m;
    for (;;) {
      auto row = st->Step("check cost rollups");
      if (!row.ok()) return row.status();
      if (!*row) break;
      ReadMeasures(*st, 3, m);
      m.latency_count = st->Int(11);
      m.latency_sum = st->Int(12);
      if (!Plausible(m)) ++implausible;
      if (!LatencyHistogram::Decode(st->Blob(13), m.hist) || m.hist.total() != m.latency_count) ++bad_hist;
      const int64_t day = st->Int(0), team = st->Int(1);
      const int source = static_cast<int>(st->Int(2));
      from_rollups[{day, kScopeAll, 0, source}].Merge(m);
      if (team != 0) from_rollups[{day, kScopeTeam, team, source}].Merge(m);
    }
  }
  {
    auto st = conn.Prepare(
        "SELECT day, scope, scope_id, source, count, errors, tokens_input, tokens_output, tokens_cached_input,"
        " tokens_cache_write, tokens_reasoning, cost_nanousd FROM cost_totals");
    if (!st.ok()) return st.status();
    Measures m;
    for (;;) {
      auto row = st->Step("check cost totals");
      if (!row.ok()) return row.status();
      if (!*row) break;
      ReadMeasures(*st, 4, m);
      m.latency_count = m.latency_sum = 0;
      if (!Plausible(m)) ++implausible;
      from_totals[{st->Int(0), static_cast<int>(st->Int(1)), st->Int(2), static_cast<int>(st->Int(3))}].Merge(m);
    }
  }
  if (implausible > 0)
    problems.push_back(fmt::format("{} rollup or total rows hold impossible sums (negative, or beyond their count)",
                                   implausible));
  if (bad_hist > 0)
    problems.push_back(fmt::format("{} rollup rows hold a latency histogram that does not decode to their count",
                                   bad_hist));
  int64_t unequal = 0;
  std::string example;
  auto compare = [&](const DayKey& k, const WideMeasures* a, const WideMeasures* b) {
    static const WideMeasures kNone;
    if (SameSums(a ? *a : kNone, b ? *b : kNone)) return;
    if (unequal++ == 0)
      example = fmt::format("day {} {} source {}: totals count {} cost {}, rollups count {} cost {}", std::get<0>(k),
                            std::get<1>(k) == kScopeAll ? "everything" : fmt::format("team {}", std::get<2>(k)),
                            std::get<3>(k), util::Int128ToString(b ? b->count : 0), util::Int128ToString(b ? b->cost : 0),
                            util::Int128ToString(a ? a->count : 0), util::Int128ToString(a ? a->cost : 0));
  };
  for (const auto& [k, m] : from_rollups) {
    auto it = from_totals.find(k);
    compare(k, &m, it == from_totals.end() ? nullptr : &it->second);
  }
  for (const auto& [k, m] : from_totals)
    if (!from_rollups.count(k)) compare(k, nullptr, &m);
  if (unequal > 0)
    problems.push_back(fmt::format("{} day totals differ from the sum of their rollups, e.g. {}", unequal, example));

  // Pending rows hold valid values (the messages past the watermark are only checked: their number is the span).
  std::vector<CostRow> pending;  // cost_pending's
  Status visited = VisitCostPendingTable(conn, [&](const CostRow& r) { pending.push_back(r); });
  if (visited.ok()) visited = VisitPendingMessages(conn, [](const CostRow&) {});
  if (visited.code() == Code::kCorruption) {
    problems.push_back(visited.message());
  } else if (!visited.ok()) {
    return visited;
  } else {
    if (static_cast<int64_t>(pending.size()) >= kPendingMergeRows) {
      auto foldable = FoldablePending(conn, pending);
      if (!foldable.ok()) return foldable.status();
      if (*foldable >= kPendingMergeRows)
        problems.push_back(fmt::format("cost_pending holds {} rows that should have been folded (at most {})",
                                       *foldable, kPendingMergeRows - 1));
    }
    auto span = PendingMessageSpan(conn);
    if (!span.ok()) return span.status();
    if (*span >= kPendingMergeRows)
      problems.push_back(fmt::format("{} message ids lie past the cost watermark (cost_fold): they should have been "
                                     "folded (at most {})",
                                     *span, kPendingMergeRows - 1));
  }
  if (problems.empty()) return Status::OK();
  return Status::Corruption(fmt::format("the cost rollups are damaged: {}; rebuild_rollups repairs them",
                                        fmt::join(problems, "; ")));
}

}  // namespace convstore::cost
