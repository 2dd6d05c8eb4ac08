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

}  // namespace convstore::cost
