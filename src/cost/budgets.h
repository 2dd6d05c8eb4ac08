// Budgets: windows, spend and reservations of a budget, and the alerts a write raises.
#pragma once
#include <string_view>
#include <vector>

#include "convstore/cost.h"
#include "sqlite/connection.h"

namespace convstore::cost {

// What a committed write added to whose spend (for budget alerts).
struct SpendNote {
  int64_t user_id = 0;
  int64_t team_id = 0;
  std::vector<std::pair<Micros, NanoUsd>> rows;  // (time, cost) of each row written
};

// Refuses (kConflict) a request_id that belongs to a reservation not yet settled: that reservation's usage is
// recorded by Settle. A settled reservation's request_id is left to the usage lookup (a retry of the settle).
Status CheckRequestIdFreeOfReservation(sqlite::Connection& conn, std::string_view request_id, Micros now);

// Budgets whose soft or hard limit the spend in `note` crossed (spend before < limit <= spend after, counting
// only the rows inside each budget's current window), evaluated inside the write transaction after the rows were
// written.
Status CollectBudgetAlerts(sqlite::Connection& conn, const SpendNote& note, Micros now,
                           std::vector<BudgetAlert>& out);

// After a recorded call (`note`): the hard budgets covering it whose spend, this call included, is above their
// limit (`overages`), and — when `alerts` is given — the alerts it raises: the limits it crossed, plus a "hard"
// alert for a budget left over its limit by a call that `exceeded_reservation` (a settle that cost more than it
// reserved, or came after its reservation expired).
Status AssessSpend(sqlite::Connection& conn, const SpendNote& note, Micros now, bool exceeded_reservation,
                   std::vector<BudgetOverage>& overages, std::vector<BudgetAlert>* alerts);

}  // namespace convstore::cost
