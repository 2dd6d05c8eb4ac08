#include "sync/global_ledger.h"

#include <fmt/format.h>

#include "util/status_macros.h"

namespace convstore::sync {
namespace {

std::string Q(const std::string& schema) { return QuoteIdentifier(schema); }

// Ends the caller's transaction after `s` failed (a lost connection has none left to end).
Status Abort(PgConnection& pg, Status s) {
  if (pg.healthy()) (void)pg.Exec("ROLLBACK");
  return s;
}

std::optional<std::string> OptInt(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

BudgetInput BudgetOf(const PgRows& rows, int r) {
  BudgetInput b;
  b.name = std::string(*rows.Get(r, 0));
  b.scope = std::string(*rows.Get(r, 1));
  b.scope_key = std::string(rows.Get(r, 2).value_or(""));
  b.period = std::string(*rows.Get(r, 3));
  b.window_hours = rows.Int(r, 4);
  if (rows.Get(r, 5)) b.hard_limit_nanousd = rows.Int(r, 5);
  if (rows.Get(r, 6)) b.soft_limit_nanousd = rows.Int(r, 6);
  return b;
}

constexpr const char* kBudgetColumns =
    "name, scope, scope_key, period, window_hours, hard_limit_nanousd, soft_limit_nanousd";

// Settled spend of reservations made inside [from, to) (the per-hour totals: windows start and end on UTC hours)
// and open, unexpired reservations of budget `name`.
Result<std::pair<NanoUsd, NanoUsd>> SpendOf(PgConnection& pg, const std::string& schema, const std::string& name,
                                            Micros from, Micros to, Micros now) {
  auto rows = pg.Query("SELECT (SELECT coalesce(sum(amount_nanousd), 0) FROM " + Q(schema) +
                           ".convstore_global_settled WHERE budget = $1 AND hour_us >= $2 AND hour_us < $3)::bigint, "
                           "(SELECT coalesce(sum(amount_nanousd), 0) FROM " + Q(schema) +
                           ".convstore_global_ledger WHERE budget = $1 AND state = 'open' AND expires_at_us > $4)"
                           "::bigint",
                       {name, std::to_string(from), std::to_string(to), std::to_string(now)});
  if (!rows.ok()) return rows.status();
  return std::make_pair(rows->Int(0, 0), rows->Int(0, 1));
}

}  // namespace

Status PutGlobalBudget(PgConnection& pg, const std::string& schema, const BudgetInput& b) {
  return pg
      .Run("INSERT INTO " + Q(schema) + ".convstore_global_budgets (" + kBudgetColumns +
               ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET scope = EXCLUDED.scope, "
               "scope_key = EXCLUDED.scope_key, period = EXCLUDED.period, window_hours = EXCLUDED.window_hours, "
               "hard_limit_nanousd = EXCLUDED.hard_limit_nanousd, soft_limit_nanousd = EXCLUDED.soft_limit_nanousd, "
               "updated_at = now()",
           {b.name, b.scope, b.scope_key, b.period, std::to_string(b.window_hours), OptInt(b.hard_limit_nanousd),
            OptInt(b.soft_limit_nanousd)})
      .status();
}

Status DeleteGlobalBudget(PgConnection& pg, const std::string& schema, const std::string& name) {
  auto n = pg.Run("DELETE FROM " + Q(schema) + ".convstore_global_budgets WHERE name = $1", {name});
  if (!n.ok()) return n.status();
  if (*n == 0) return Status::NotFound("no global budget named '" + name + "'");
  return Status::OK();
}

Result<std::vector<GlobalSpend>> ListGlobalBudgets(PgConnection& pg, const std::string& schema, Micros now,
                                                   const WindowOf& window_of) {
  auto rows = pg.Query(std::string("SELECT ") + kBudgetColumns + " FROM " + Q(schema) +
                       ".convstore_global_budgets ORDER BY name");
  if (!rows.ok()) return rows.status();
  std::vector<GlobalSpend> out;
  for (int r = 0; r < rows->rows(); ++r) {
    GlobalSpend s;
    s.budget = BudgetOf(*rows, r);
    std::tie(s.window_from, s.window_to) = window_of(s.budget, now);
    auto spend = SpendOf(pg, schema, s.budget.name, s.window_from, s.window_to, now);
    if (!spend.ok()) return spend.status();
    std::tie(s.settled_nanousd, s.reserved_nanousd) = *spend;
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> ReserveGlobally(PgConnection& pg, const std::string& schema,
                                                 const GlobalReservation& r, Micros now, const WindowOf& window_of) {
  CONVSTORE_RETURN_IF_ERROR(pg.Exec("BEGIN"));
  // The budgets covering this call, locked (a racing reservation on any of them waits here), each with whether
  // this reservation is in its ledger already (a retry).
  auto budgets = pg.Query(std::string("SELECT ") + kBudgetColumns + ", EXISTS (SELECT 1 FROM " + Q(schema) +
                              ".convstore_global_ledger l WHERE l.budget = b.name AND l.store_id = $3 AND "
                              "l.request_id = $4) FROM " + Q(schema) +
                              ".convstore_global_budgets b WHERE scope = 'global' OR (scope = 'team' AND $1 <> '' AND "
                              "scope_key = $1) OR (scope = 'user' AND scope_key = $2) ORDER BY name FOR UPDATE OF b",
                          {r.team_key, r.user_key, r.store_id, r.request_id});
  if (!budgets.ok()) return Abort(pg, budgets.status());
  std::vector<std::string> names;
  for (int i = 0; i < budgets->rows(); ++i)
    if (budgets->Get(i, 7) == "t") names.emplace_back(*budgets->Get(i, 0));
  if (!names.empty()) {  // a retry: counted already
    CONVSTORE_RETURN_IF_ERROR(pg.Exec("COMMIT"));
    return names;
  }
  for (int i = 0; i < budgets->rows(); ++i) {
    const BudgetInput b = BudgetOf(*budgets, i);
    names.push_back(b.name);
    if (!b.hard_limit_nanousd) continue;
    auto [from, to] = window_of(b, now);
    auto spend = SpendOf(pg, schema, b.name, from, to, now);
    if (!spend.ok()) return Abort(pg, spend.status());
    const NanoUsd used = spend->first + spend->second;
    if (used > *b.hard_limit_nanousd - r.amount_nanousd)
      return Abort(pg, Status::BudgetExceeded(fmt::format(
                           "global budget '{}' ({} {}): {} nano-USD spent and {} reserved of {}; {} more does not fit",
                           b.name, b.scope, b.scope_key, spend->first, spend->second, *b.hard_limit_nanousd,
                           r.amount_nanousd)));
  }
  for (const std::string& name : names) {
    auto n = pg.Run("INSERT INTO " + Q(schema) +
                        ".convstore_global_ledger (budget, store_id, request_id, user_key, team_key, state, "
                        "amount_nanousd, created_at_us, expires_at_us) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8)",
                    {name, r.store_id, r.request_id, r.user_key, r.team_key, std::to_string(r.amount_nanousd),
                     std::to_string(r.created_at), std::to_string(r.expires_at)});
    if (!n.ok()) return Abort(pg, n.status());
  }
  CONVSTORE_RETURN_IF_ERROR(pg.Exec("COMMIT"));
  return names;
}

Status AdoptGlobally(PgConnection& pg, const std::string& schema, const GlobalReservation& r, const std::string& state,
                     NanoUsd settled_cost_nanousd) {
  const bool settled = state == "settled";
  const std::string ledger_state = settled ? "settled" : state == "released" ? "released" : "open";
  const NanoUsd amount = settled ? settled_cost_nanousd : r.amount_nanousd;
  return pg
      .Run("INSERT INTO " + Q(schema) +
               ".convstore_global_ledger (budget, store_id, request_id, user_key, team_key, state, amount_nanousd, "
               "created_at_us, expires_at_us) SELECT name, $1, $2, $3, $4, $5, $6, $7, $8 FROM " +
               Q(schema) +
               ".convstore_global_budgets WHERE scope = 'global' OR (scope = 'team' AND $4 <> '' AND scope_key = "
               "$4) OR (scope = 'user' AND scope_key = $3) ON CONFLICT (budget, store_id, request_id) DO UPDATE SET "
               "state = EXCLUDED.state, amount_nanousd = EXCLUDED.amount_nanousd",
           {r.store_id, r.request_id, r.user_key, r.team_key, ledger_state, std::to_string(amount),
            std::to_string(r.created_at), std::to_string(r.expires_at)})
      .status();
}

Status SettleGlobally(PgConnection& pg, const std::string& schema, const std::string& store_id,
                      const std::string& request_id, NanoUsd cost_nanousd, Micros now) {
  return pg
      .Run("UPDATE " + Q(schema) +
               ".convstore_global_ledger SET state = 'settled', amount_nanousd = $3, settled_at_us = $4 "
               "WHERE store_id = $1 AND request_id = $2 AND state <> 'settled'",
           {store_id, request_id, std::to_string(cost_nanousd), std::to_string(now)})
      .status();
}

Result<std::vector<std::string>> OpenRequestsOf(PgConnection& pg, const std::string& schema,
                                                const std::string& store_id, Micros expires_after) {
  auto rows = pg.Query("SELECT DISTINCT request_id FROM " + Q(schema) +
                           ".convstore_global_ledger WHERE store_id = $1 AND state = 'open' AND expires_at_us > $2",
                       {store_id, std::to_string(expires_after)});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (int i = 0; i < rows->rows(); ++i) out.emplace_back(*rows->Get(i, 0));
  return out;
}

Status ReleaseGlobally(PgConnection& pg, const std::string& schema, const std::string& store_id,
                       const std::string& request_id) {
  return pg
      .Run("UPDATE " + Q(schema) +
               ".convstore_global_ledger SET state = 'released' WHERE store_id = $1 AND request_id = $2 AND "
               "state = 'open'",
           {store_id, request_id})
      .status();
}

}  // namespace convstore::sync
