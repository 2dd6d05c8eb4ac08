// Global budgets: budget definitions and a ledger of reservations kept in PostgreSQL, shared by every store that
// uses them, so N hosts sharing a team's budget cannot spend N times it.
//
// A reservation is admitted in one PostgreSQL transaction that locks the budgets covering it (FOR UPDATE, in name
// order: no deadlock between hosts), sums each one's settled spend inside its window plus its open, unexpired
// reservations from the ledger, and inserts one ledger row per budget — so two hosts racing for the last dollars
// are serialised by PostgreSQL and never together pass a hard limit. Settling records the call's actual cost in
// those rows; releasing frees them. A global budget counts what goes through Reserve and Settle.
//
// Functions work on the caller's connection and open their own transactions; one thread at a time.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convstore/cost.h"
#include "convstore/status.h"
#include "sync/pg_connection.h"

namespace convstore::sync {

// The window [from, to) of a budget at `now` (the cost engine's rules, handed in by the caller).
using WindowOf = std::function<std::pair<Micros, Micros>(const BudgetInput& budget, Micros now)>;

struct GlobalSpend {
  BudgetInput budget;
  Micros window_from = 0, window_to = 0;
  NanoUsd settled_nanousd = 0;   // settled reservations created inside the window
  NanoUsd reserved_nanousd = 0;  // open, unexpired reservations
};

// Creates or replaces a global budget (scope "global", "team" or "user" with the team's or user's key, as every
// store names them). The caller has validated it.
Status PutGlobalBudget(PgConnection& pg, const std::string& schema, const BudgetInput& budget);
// kNotFound when there is none of that name; its ledger rows go with it.
Status DeleteGlobalBudget(PgConnection& pg, const std::string& schema, const std::string& name);
// Every global budget and its spend now, by name.
Result<std::vector<GlobalSpend>> ListGlobalBudgets(PgConnection& pg, const std::string& schema, Micros now,
                                                   const WindowOf& window_of);

struct GlobalReservation {
  std::string store_id;
  std::string request_id;
  std::string user_key;
  std::string team_key;          // "" for none
  NanoUsd amount_nanousd = 0;
  Micros created_at = 0, expires_at = 0;
};

// Admits `r` against every global budget covering its user, team and everything, or refuses it
// (kBudgetExceeded naming the budget, nothing written). A request id already in the ledger for this store is a
// retry: admitted again without counting twice. Returns the names of the budgets it was counted against.
Result<std::vector<std::string>> ReserveGlobally(PgConnection& pg, const std::string& schema,
                                                 const GlobalReservation& r, Micros now, const WindowOf& window_of);
// Records a reservation admitted while PostgreSQL was unreachable, as the store now has it ("open", "expired",
// "settled" at `settled_cost`, "released"), against the budgets covering it — without a limit check: it was
// admitted. Rows already there take the store's state.
Status AdoptGlobally(PgConnection& pg, const std::string& schema, const GlobalReservation& r, const std::string& state,
                     NanoUsd settled_cost_nanousd);
// The reservation's actual cost: its ledger rows become settled at that amount (none: nothing to do).
Status SettleGlobally(PgConnection& pg, const std::string& schema, const std::string& store_id,
                      const std::string& request_id, NanoUsd cost_nanousd, Micros now);
// The request ids of this store's reservations the ledger holds open that expire after `expires_after` (a process
// that ended between its store's settle or release and the ledger's leaves these behind).
Result<std::vector<std::string>> OpenRequestsOf(PgConnection& pg, const std::string& schema,
                                                const std::string& store_id, Micros expires_after);
// Frees the reservation's ledger rows (released).
Status ReleaseGlobally(PgConnection& pg, const std::string& schema, const std::string& store_id,
                       const std::string& request_id);

}  // namespace convstore::sync
