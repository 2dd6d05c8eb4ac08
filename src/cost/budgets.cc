// Budgets and reservations: admission is one write transaction that reads spend (scope totals) plus open
// reservations and inserts the reservation, so two racing reservations are serialised by the write lock and can
// never together pass a hard limit. Windows are computed from "now"; nothing is ever reset.
#include "cost/budgets.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "cost/calendar.h"
#include "cost/cost_scan.h"
#include "records/api_usage.h"
#include "records/lookups.h"
#include "util/validate.h"
#include "util/int128.h"
#include "util/logging.h"
#include "util/money.h"

namespace convstore::cost {

namespace {

constexpr int64_t kMaxWindowHours = 8784;  // 366 days
constexpr int64_t kMinTtlUs = 1'000'000;
constexpr int64_t kMaxTtlUs = kMaxReservationTtlUs;

// budget_reservations.state
enum ReservationState : int64_t { kOpen = 0, kSettled = 1, kReleased = 2 };

struct BudgetRow {
  int64_t id = 0;
  int scope = 0;
  int64_t scope_id = 0;
  BudgetInput input;
};

// 9 columns; alias b, with the scope's key resolved.
#define CONVSTORE_BUDGET_SELECT                                                                              \
  "SELECT b.id, b.name, b.scope, b.scope_id, b.period, b.window_hours, b.hard_limit_nanousd,"             \
  " b.soft_limit_nanousd, CASE b.scope WHEN 1 THEN (SELECT key FROM teams WHERE id = b.scope_id)"          \
  " WHEN 2 THEN (SELECT key FROM users WHERE id = b.scope_id) ELSE '' END FROM budgets b"

static_assert(kScopeTeam == 1 && kScopeUser == 2, "CONVSTORE_BUDGET_SELECT spells the scope codes out in SQL");

void ReadBudget(const sqlite::Stmt& st, BudgetRow& b) {
  b.id = st.Int(0);
  b.input.name = st.String(1);
  b.scope = static_cast<int>(st.Int(2));
  b.scope_id = st.Int(3);
  b.input.scope = b.scope == kScopeTeam ? "team" : b.scope == kScopeUser ? "user" : "global";
  b.input.period = st.String(4);
  b.input.window_hours = st.Int(5);
  b.input.hard_limit_nanousd = st.OptInt(6);
  b.input.soft_limit_nanousd = st.OptInt(7);
  b.input.scope_key = st.String(8);
}

Result<std::vector<BudgetRow>> ReadBudgets(sqlite::Stmt& st) {
  std::vector<BudgetRow> out;
  for (;;) {
    auto row = st.Step("read budgets");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    ReadBudget(st, out.emplace_back());
  }
}

// Budgets covering a write by this user (everything, the user's team, the user).
Result<std::vector<BudgetRow>> CoveringBudgets(sqlite::Connection& conn, int64_t user_id, int64_t team_id) {
  auto st = conn.Prepare(CONVSTORE_BUDGET_SELECT
                         " WHERE b.scope = 0 OR (b.scope = 1 AND b.scope_id = ?1) OR (b.scope = 2 AND b.scope_id = ?2)"
                         " ORDER BY b.name");
  if (!st.ok()) return st.status();
  st->Bind(1, team_id == 0 ? -1 : team_id).Bind(2, user_id);
  return ReadBudgets(*st);
}

std::pair<Micros, Micros> Window(const BudgetInput& b, int scope, Micros now) {
  const int64_t today = FloorDiv(now, kMicrosPerDay);
  if (b.period == "day") return {today * kMicrosPerDay, (today + 1) * kMicrosPerDay};
  if (b.period == "week") {
    int64_t start = WeekStartDays(today);
    return {start * kMicrosPerDay, (start + 7) * kMicrosPerDay};
  }
  if (b.period == "month") {
    int64_t start = MonthStartDays(today);
    CivilDate c = CivilFromDays(today);
    return {start * kMicrosPerDay, (start + DaysInMonth(c.year, c.month)) * kMicrosPerDay};
  }
  if (scope == kScopeUser) {  // a user's spend is kept per day: whole days, today included
    const int64_t days = b.window_hours / 24;
    return {(today + 1 - days) * kMicrosPerDay, (today + 1) * kMicrosPerDay};
  }
  Micros hour = FloorHour(now);
  return {hour - (b.window_hours - 1) * kMicrosPerHour, hour + kMicrosPerHour};
}

Result<NanoUsd> Reserved(sqlite::Connection& conn, const BudgetRow& b, Micros now) {
  auto sum = conn.QueryInt(
      "SELECT coalesce(sum(amount_nanousd), 0) FROM budget_reservations WHERE state = 0 /* kOpen */ AND expires_at > ?1"
      " AND (?2 = 0 OR (?2 = 1 AND team_id = ?3) OR (?2 = 2 AND user_id = ?3))",
      "sum reservations", now, int64_t{b.scope}, b.scope_id);
  if (!sum.ok()) return sum.status();
  return sum->value_or(0);  // an aggregate: always one row
}

Result<BudgetState> StateOf(sqlite::Connection& conn, const BudgetRow& b, Micros now) {
  BudgetState s;
  s.budget = b.input;
  auto [from, to] = Window(b.input, b.scope, now);
  s.window_from = from;
  s.window_to = to;
  auto spent = SumScope(conn, b.scope, b.scope_id, from, to, 3);
  if (!spent.ok()) return spent.status();
  s.spent_nanousd = spent->cost;
  auto reserved = Reserved(conn, b, now);
  if (!reserved.ok()) return reserved.status();
  s.reserved_nanousd = *reserved;
  NanoUsd used = s.spent_nanousd;
  if (spent->overflow || !AddInto(used, s.reserved_nanousd))
    return Status::TooLarge(fmt::format("budget '{}': spend leaves the 64-bit integer range", b.input.name));
  auto limit = b.input.hard_limit_nanousd ? b.input.hard_limit_nanousd : b.input.soft_limit_nanousd;
  if (limit && *limit > 0) s.used_fraction = static_cast<double>(used) / static_cast<double>(*limit);
  s.over_soft = b.input.soft_limit_nanousd && used >= *b.input.soft_limit_nanousd;
  s.over_hard = b.input.hard_limit_nanousd && used >= *b.input.hard_limit_nanousd;
  return s;
}

const char* StateName(int64_t state, Micros expires_at, Micros now) {
  if (state == kSettled) return "settled";
  if (state == kReleased) return "released";
  return expires_at > now ? "open" : "expired";
}

// Reads the reservation with this request_id into `out`; false when there is none.
Result<bool> FindReservation(sqlite::Connection& conn, std::string_view request_id, Micros now, Reservation& out,
                             int64_t* state) {
  auto found = conn.QueryRow(
      "SELECT r.request_id, u.key, coalesce(t.key, ''), r.amount_nanousd, r.state, r.created_at, r.expires_at,"
      " coalesce(a.uid, '') FROM budget_reservations r JOIN users u ON u.id = r.user_id"
      " LEFT JOIN teams t ON t.id = r.team_id LEFT JOIN api_usage a ON a.id = r.usage_id WHERE r.request_id = ?1",
      "find reservation",
      [&](const sqlite::Stmt& st) {
        out.request_id = st.String(0);
        out.user_key = st.String(1);
        out.team_key = st.String(2);
        out.amount_nanousd = st.Int(3);
        *state = st.Int(4);
        out.created_at = st.Int(5);
        out.expires_at = st.Int(6);
        out.state = StateName(*state, out.expires_at, now);
        out.usage_id = st.String(7);
        return true;
      },
      request_id);
  if (!found.ok()) return found.status();
  return found->has_value();
}

std::string Usd(NanoUsd v) { return "$" + util::FormatUsd(v); }

}  // namespace

Status CheckRequestIdFreeOfReservation(sqlite::Connection& conn, std::string_view request_id, Micros now) {
  if (request_id.empty()) return Status::OK();
  Reservation r;
  int64_t state = 0;
  auto found = FindReservation(conn, request_id, now, r, &state);
  if (!found.ok()) return found.status();
  if (!*found || state == kSettled) return Status::OK();
  if (r.state == "open")
    return Status::Conflict(fmt::format(
        "request_id '{}' belongs to an open reservation: record its usage with settle, not record_api_usage",
        request_id));
  return Status::Conflict(
      fmt::format("request_id '{}' was used for a reservation ({}): use a new request_id", request_id, r.state));
}

Status AssessSpend(sqlite::Connection& conn, const SpendNote& note, Micros now, bool exceeded_reservation,
                   std::vector<BudgetOverage>& overages, std::vector<BudgetAlert>* alerts) {
  overages.clear();
  if (note.rows.empty()) return Status::OK();
  auto budgets = CoveringBudgets(conn, note.user_id, note.team_id);
  if (!budgets.ok()) return budgets.status();
  for (const BudgetRow& b : *budgets) {
    if (!alerts && !b.input.hard_limit_nanousd) continue;  // only overages wanted: hard limits only
    auto [from, to] = Window(b.input, b.scope, now);
    NanoUsd added = 0;  // what this write added inside the window (a backdated row may fall outside it)
    for (const auto& [at, cost] : note.rows)
      if (at >= from && at < to) added += cost;
    if (added == 0) continue;
    auto spent = SumScope(conn, b.scope, b.scope_id, from, to, 3);
    if (!spent.ok()) return spent.status();
    if (spent->overflow) {  // beyond any limit, but the write is recorded all the same (it happened)
      util::Logger().warn("budget '{}': spend leaves the 64-bit integer range; no overage or alert reported",
                          b.input.name);
      continue;
    }
    const NanoUsd after = spent->cost, before = after - added;
    const auto& hard = b.input.hard_limit_nanousd;
    if (hard && after > *hard) overages.push_back(BudgetOverage{b.input.name, *hard, after, after - *hard});
    if (!alerts) continue;
    auto crossed = [&](const std::optional<NanoUsd>& limit) { return limit && before < *limit && after >= *limit; };
    if (crossed(b.input.soft_limit_nanousd))
      alerts->push_back(BudgetAlert{b.input.name, "soft", after, *b.input.soft_limit_nanousd});
    if (crossed(hard) || (hard && after > *hard && exceeded_reservation))
      alerts->push_back(BudgetAlert{b.input.name, "hard", after, *hard});
  }
  return Status::OK();
}

Status CollectBudgetAlerts(sqlite::Connection& conn, const SpendNote& note, Micros now,
                           std::vector<BudgetAlert>& out) {
  std::vector<BudgetOverage> ignored;
  return AssessSpend(conn, note, now, false, ignored, &out);
}


Result<std::optional<ReservationRecord>> FindReservationRecord(sqlite::Connection& conn, std::string_view request_id,
                                                               Micros now) {
  ReservationRecord record;
  int64_t state = 0;
  auto found = FindReservation(conn, request_id, now, record.reservation, &state);
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<ReservationRecord>();
  if (state == kSettled && !record.reservation.usage_id.empty()) {
    auto cost = conn.QueryInt("SELECT coalesce(cost_nanousd, 0) FROM api_usage WHERE uid = ?1", "settled cost",
                              std::string_view(record.reservation.usage_id));
    if (!cost.ok()) return cost.status();
    record.settled_cost_nanousd = cost->value_or(0);
  }
  return std::optional<ReservationRecord>(std::move(record));
}

std::pair<Micros, Micros> BudgetWindow(const BudgetInput& budget, int scope, Micros now) {
  return Window(budget, scope, now);
}

Result<int> ValidateBudget(const BudgetInput& in) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(in.name, "name"));
  int scope = in.scope == "global" ? kScopeAll : in.scope == "team" ? kScopeTeam
            : in.scope == "user"   ? kScopeUser : -1;
  if (scope < 0) return Status::InvalidArgument("scope must be \"global\", \"team\" or \"user\"");
  if (scope == kScopeAll && !in.scope_key.empty())
    return Status::InvalidArgument("a global budget takes no scope_key");
  if (scope != kScopeAll) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(in.scope_key, "scope_key"));
  if (in.period != "day" && in.period != "week" && in.period != "month" && in.period != "rolling")
    return Status::InvalidArgument("period must be \"day\", \"week\", \"month\" or \"rolling\"");
  if (in.period == "rolling")
    CONVSTORE_RETURN_IF_ERROR(util::CheckRange(in.window_hours, 1, kMaxWindowHours, "window_hours"));
  else if (in.window_hours != 0)
    return Status::InvalidArgument("window_hours applies to rolling budgets only");
  if (scope == kScopeUser && in.period == "rolling" && in.window_hours % 24 != 0)
    return Status::InvalidArgument("a user's rolling window is whole days: window_hours must be a multiple of 24");
  if (!in.hard_limit_nanousd && !in.soft_limit_nanousd)
    return Status::InvalidArgument("a budget needs a hard_limit, a soft_limit or both");
  const int64_t max = limits::kMaxTeamBudgetNanoUsd;
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(in.hard_limit_nanousd, 0, max, "hard_limit (nano-USD)"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(in.soft_limit_nanousd, 0, max, "soft_limit (nano-USD)"));
  return scope;
}

Result<BudgetState> SetBudget(sqlite::Connection& conn, const BudgetInput& in, int scope, Micros now) {
  int64_t scope_id = 0;
  if (scope == kScopeTeam || scope == kScopeUser) {
    auto id = scope == kScopeTeam ? records::FindTeamId(conn, in.scope_key) : records::FindUserId(conn, in.scope_key);
    if (!id.ok()) return id.status();
    scope_id = *id;
  }
  auto st = conn.Prepare(
      "INSERT INTO budgets(name, scope, scope_id, period, window_hours, hard_limit_nanousd, soft_limit_nanousd,"
      " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
      " ON CONFLICT (name) DO UPDATE SET scope = excluded.scope, scope_id = excluded.scope_id,"
      " period = excluded.period, window_hours = excluded.window_hours,"
      " hard_limit_nanousd = excluded.hard_limit_nanousd, soft_limit_nanousd = excluded.soft_limit_nanousd,"
      " updated_at = excluded.updated_at");
  if (!st.ok()) return st.status();
  st->Bind(1, in.name).Bind(2, int64_t{scope}).Bind(3, scope_id).Bind(4, in.period).Bind(5, in.window_hours);
  st->Bind(6, in.hard_limit_nanousd).Bind(7, in.soft_limit_nanousd).Bind(8, now);
  CONVSTORE_RETURN_IF_ERROR(st->Run("set budget"));
  BudgetRow b;
  b.scope = scope;
  b.scope_id = scope_id;
  b.input = in;
  return StateOf(conn, b, now);
}

Status DeleteBudget(sqlite::Connection& conn, std::string_view name) {
  CONVSTORE_RETURN_IF_ERROR(conn.Run("DELETE FROM budgets WHERE name = ?1", "delete budget", name));
  if (conn.changes() == 0) return Status::NotFound(fmt::format("budget '{}' does not exist", name));
  return Status::OK();
}

Result<UserBudgetRows> DeleteUserBudgets(sqlite::Connection& conn, int64_t user_id) {
  UserBudgetRows rows;
  auto collect = [](std::vector<int64_t>& into) {
    return [&into](const sqlite::Stmt& st) {
      into.push_back(st.Int(0));
      return true;
    };
  };
  auto budgets = conn.ForEachRow("DELETE FROM budgets WHERE scope = ?1 AND scope_id = ?2 RETURNING id",
                                 "delete a user's budgets", collect(rows.budgets), int64_t{kScopeUser}, user_id);
  if (!budgets.ok()) return budgets.status();
  auto reservations = conn.ForEachRow("DELETE FROM budget_reservations WHERE user_id = ?1 RETURNING id",
                                      "delete a user's reservations", collect(rows.reservations), user_id);
  if (!reservations.ok()) return reservations.status();
  return rows;
}

Result<std::vector<BudgetState>> BudgetStates(sqlite::Connection& conn, double min_used_fraction, Micros now) {
  auto st = conn.Prepare(CONVSTORE_BUDGET_SELECT " ORDER BY b.name");
  if (!st.ok()) return st.status();
  auto budgets = ReadBudgets(*st);
  if (!budgets.ok()) return budgets.status();
  std::vector<BudgetState> out;
  for (const BudgetRow& b : *budgets) {
    auto state = StateOf(conn, b, now);
    if (!state.ok()) return state.status();
    if (min_used_fraction > 0 && state->used_fraction.value_or(0) < min_used_fraction) continue;
    out.push_back(std::move(*state));
  }
  return out;
}

Status ValidateReserve(const ReserveRequest& request) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(request.request_id, "request_id"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(request.user_key, "user_key"));
  CONVSTORE_RETURN_IF_ERROR(
      util::CheckRange(request.estimated_cost_nanousd, 0, limits::kMaxCostNanoUsd, "estimated_cost (nano-USD)"));
  return util::CheckRange(request.ttl_us, kMinTtlUs, kMaxTtlUs, "ttl_us");
}

Result<Reservation> Reserve(sqlite::Connection& conn, const ReserveRequest& request, Micros now) {
  Reservation out;
  int64_t state = 0;
  auto existing = FindReservation(conn, request.request_id, now, out, &state);
  if (!existing.ok()) return existing.status();
  if (*existing) {
    if (out.user_key != request.user_key)
      return Status::Conflict(fmt::format("request_id '{}' was already used for a reservation of another user",
                                          request.request_id));
    if (out.state == "released" || out.state == "expired")
      return Status::Conflict(fmt::format("reservation '{}' is {}: reserve again with a new request_id",
                                          request.request_id, out.state));
    return out;  // a retry of an open (or already settled) reservation
  }
  auto used = records::FindApiUsage(conn, "", request.request_id);
  if (!used.ok()) return used.status();
  if (*used)
    return Status::Conflict(
        fmt::format("request_id '{}' was already used for recorded API usage", request.request_id));
  auto user_id = records::FindUserId(conn, request.user_key);
  if (!user_id.ok()) return user_id.status();
  auto team_id = records::UserTeamId(conn, *user_id);
  if (!team_id.ok()) return team_id.status();
  auto budgets = CoveringBudgets(conn, *user_id, *team_id);
  if (!budgets.ok()) return budgets.status();
  for (const BudgetRow& b : *budgets) {
    auto s = StateOf(conn, b, now);
    if (!s.ok()) return s.status();
    if (b.input.hard_limit_nanousd &&
        util::Int128{s->spent_nanousd} + s->reserved_nanousd + request.estimated_cost_nanousd >
            *b.input.hard_limit_nanousd)
      return Status::BudgetExceeded(fmt::format(
          "budget '{}' would be exceeded: spent {} + reserved {} + this {} > hard limit {}", b.input.name,
          Usd(s->spent_nanousd), Usd(s->reserved_nanousd), Usd(request.estimated_cost_nanousd),
          Usd(*b.input.hard_limit_nanousd)));
    s->reserved_nanousd += request.estimated_cost_nanousd;
    out.budgets.push_back(std::move(*s));
  }
  auto ins = conn.Prepare(
      "INSERT INTO budget_reservations(request_id, user_id, team_id, amount_nanousd, state, created_at, expires_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, request.request_id).Bind(2, *user_id);
  ins->Bind(3, *team_id == 0 ? std::nullopt : std::optional<int64_t>(*team_id));
  ins->Bind(4, request.estimated_cost_nanousd).Bind(5, int64_t{kOpen}).Bind(6, now).Bind(7, now + request.ttl_us);
  CONVSTORE_RETURN_IF_ERROR(ins->Run("insert reservation"));
  auto stored = FindReservation(conn, request.request_id, now, out, &state);
  if (!stored.ok()) return stored.status();
  return out;
}

Result<SettleTarget> BeginSettle(sqlite::Connection& conn, std::string_view request_id,
                                 std::string_view usage_user_key, Micros now) {
  SettleTarget t;
  int64_t state = 0;
  auto found = FindReservation(conn, request_id, now, t.reservation, &state);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("no reservation with request_id '{}'", request_id));
  if (state == kReleased) return Status::Conflict(fmt::format("reservation '{}' was released", request_id));
  if (!usage_user_key.empty() && usage_user_key != t.reservation.user_key)
    return Status::InvalidArgument(fmt::format("usage.user_key '{}' is not the reservation's user '{}'",
                                               usage_user_key, t.reservation.user_key));
  t.open = state == kOpen;
  return t;
}

Status FinishSettle(sqlite::Connection& conn, std::string_view request_id, std::string_view usage_id) {
  return conn.Run(
      "UPDATE budget_reservations SET state = ?3, usage_id = (SELECT id FROM api_usage WHERE uid = ?2)"
      " WHERE request_id = ?1",
      "settle reservation", request_id, usage_id, int64_t{kSettled});
}

Result<Reservation> Release(sqlite::Connection& conn, std::string_view request_id, Micros now) {
  Reservation r;
  int64_t state = 0;
  auto found = FindReservation(conn, request_id, now, r, &state);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("no reservation with request_id '{}'", request_id));
  if (state == kSettled) return Status::Conflict(fmt::format("reservation '{}' was already settled", request_id));
  if (state == kOpen) {
    CONVSTORE_RETURN_IF_ERROR(conn.Run("UPDATE budget_reservations SET state = ?2 WHERE request_id = ?1",
                                       "release reservation", request_id, int64_t{kReleased}));
    r.state = "released";
  }
  return r;
}

}  // namespace convstore::cost
