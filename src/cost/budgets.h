// Budgets: windows, spend and reservations of a budget, and the alerts a write raises.
#pragma once
#include <vector>

#include "convstore/cost.h"
#include "sqlite/connection.h"

namespace convstore::cost {

// What a committed write added to whose spend (for budget alerts).
struct SpendNote {
  int64_t user_id = 0;
  int64_t team_id = 0;
  NanoUsd added = 0;
};

// Budgets whose soft or hard limit the spend in `note` crossed (spend before < limit <= spend after), evaluated
// inside the write transaction after the rows were written.
Status CollectBudgetAlerts(sqlite::Connection& conn, const SpendNote& note, Micros now,
                           std::vector<BudgetAlert>& out);

}  // namespace convstore::cost
