// Budgets: windows, spend and reservations of a budget, and the alerts a write raises.
#pragma once
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "convstore/cost.h"
#include "sqlite/connection.h"

namespace convstore::cost {

// The longest a reservation stays open (ReserveRequest::ttl_us at most).
inline constexpr int64_t kMaxReservationTtlUs = 7 * 86'400'000'000;

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

// The window [from, to) of a budget of `scope` at `now`: the calendar day, week (from Monday) or month in UTC, or the
// rolling window ending with the current hour (a user's: whole days, today included).
std::pair<Micros, Micros> BudgetWindow(const BudgetInput& budget, int scope, Micros now);

// Checks a budget; returns its scope (kScopeAll, kScopeTeam or kScopeUser).
Result<int> ValidateBudget(const BudgetInput& budget);
// Creates or replaces the budget; its scope key must exist (kNotFound). Returns its state now.
Result<BudgetState> SetBudget(sqlite::Connection& conn, const BudgetInput& budget, int scope, Micros now);
// kNotFound when there is no budget of that name.
Status DeleteBudget(sqlite::Connection& conn, std::string_view name);
// Deletes the budgets of one user (scope user) and every reservation the user made, open or closed (an open one's
// amount stops counting against the budgets it held); the row ids removed.
struct UserBudgetRows {
  std::vector<int64_t> budgets, reservations;
};
Result<UserBudgetRows> DeleteUserBudgets(sqlite::Connection& conn, int64_t user_id);
// Every budget's state (by name), leaving out those used less than min_used_fraction. Run it inside a read
// transaction (one snapshot).
Result<std::vector<BudgetState>> BudgetStates(sqlite::Connection& conn, double min_used_fraction, Micros now);

// Reservations: admission is one write transaction that reads spend plus open reservations and inserts the
// reservation, so two racing reservations are serialised by the write lock and never together pass a hard limit.
Status ValidateReserve(const ReserveRequest& request);
// Admits (or refuses with kBudgetExceeded) and records the reservation; a retry returns the stored one.
Result<Reservation> Reserve(sqlite::Connection& conn, const ReserveRequest& request, Micros now);

// The reservation a settle applies to. `open`: not settled yet (a settled one is a retry of the settle).
struct SettleTarget {
  Reservation reservation;
  bool open = false;
};
// kNotFound without a reservation, kConflict when it was released, kInvalidArgument when the usage names another
// user than the reservation's.
Result<SettleTarget> BeginSettle(sqlite::Connection& conn, std::string_view request_id,
                                 std::string_view usage_user_key, Micros now);
// Marks the reservation settled by the API usage row `usage_id`.
Status FinishSettle(sqlite::Connection& conn, std::string_view request_id, std::string_view usage_id);
// A reservation as it stands, with the cost of the usage that settled it; nullopt when there is none.
struct ReservationRecord {
  Reservation reservation;
  std::optional<NanoUsd> settled_cost_nanousd;  // the settling usage's cost (settled reservations)
};
Result<std::optional<ReservationRecord>> FindReservationRecord(sqlite::Connection& conn, std::string_view request_id,
                                                               Micros now);

// Releases an open reservation (a released or expired one is returned as it is); kConflict when settled.
Result<Reservation> Release(sqlite::Connection& conn, std::string_view request_id, Micros now);

}  // namespace convstore::cost
