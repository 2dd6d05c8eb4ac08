// Global budgets (Sync::UseGlobalBudgets, SetGlobalBudget, ...; Reserve, Settle and Release consult them):
// docs/sync.md, "One budget across many hosts".
#include <fmt/format.h>

#include "api/store_impl.h"
#include "convstore/limits.h"
#include "cost/budgets.h"
#include "cost/rollups.h"
#include "sync/global_ledger.h"
#include "sync/pg_schema.h"
#include "util/logging.h"
#include "util/utf8.h"

namespace convstore::api {

namespace {

sync::WindowOf Windows() {
  return [](const BudgetInput& b, Micros now) {
    const int scope = b.scope == "team" ? cost::kScopeTeam : b.scope == "user" ? cost::kScopeUser : cost::kScopeAll;
    return cost::BudgetWindow(b, scope, now);
  };
}

}  // namespace

Status GlobalBudgetSession::Check(const GlobalBudgetOptions& o) {
  if (Status s = sync::CheckConnectionString(o.postgres_url); !s.ok())
    return Status::InvalidArgument("global budgets: " + s.message());
  if (o.schema.empty() || o.schema.size() > 63 || o.schema.find('\0') != std::string::npos ||
      !util::IsValidUtf8(o.schema))
    return Status::InvalidArgument("global budgets: schema must be 1..63 bytes of UTF-8 without NUL");
  if (o.when_unreachable != GlobalBudgetFallback::kRefuse && o.when_unreachable != GlobalBudgetFallback::kLocalAllowance)
    return Status::InvalidArgument("global budgets: when_unreachable must be kRefuse or kLocalAllowance");
  if (o.local_allowance_nanousd < 0 || o.local_allowance_nanousd > limits::kMaxTeamBudgetNanoUsd)
    return Status::InvalidArgument("global budgets: local_allowance must be 0 .. $1e9");
  return Status::OK();
}

Status StoreImpl::DoUseGlobalBudgets(const GlobalBudgetOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(CheckSyncable());
  CONVSTORE_RETURN_IF_ERROR(GlobalBudgetSession::Check(options));
  std::unique_lock lock(global_mu_, std::defer_lock);
  util::LockParked(lock);
  global_ = std::make_unique<GlobalBudgetSession>();
  global_->options = options;
  return Status::OK();
}

// Connects (and after an outage records what was admitted meanwhile). Under global_mu_.
Status StoreImpl::ConnectGlobal(GlobalBudgetSession& g) {
  if (g.pg && g.pg->healthy()) return Status::OK();
  g.pg.reset();
  auto pg = sync::ConnectWithSchema(g.options.postgres_url, g.options.schema);
  if (!pg.ok()) return pg.status();
  if (g.store_id.empty()) {
    auto id = StoreId();
    if (!id.ok()) return id.status();
    g.store_id = *id;
  }
  g.pg = std::move(*pg);
  return ReconcileGlobal(g);
}

// The reservations touched while PostgreSQL was unreachable, as the store now has them, into the ledger; and the
// store's reservations the ledger holds open that the store has settled or released since (a process that ended
// in between, or another handle without global budgets).
Status StoreImpl::ReconcileGlobal(GlobalBudgetSession& g) {
  const Micros now = Now();
  if (!g.reconciled_open) {
    // Reservations live at most 7 days: older open rows have expired either way.
    auto open = sync::OpenRequestsOf(*g.pg, g.options.schema, g.store_id, now - cost::kMaxReservationTtlUs);
    if (!open.ok()) return open.status();
    g.offline_requests.insert(g.offline_requests.begin(), open->begin(), open->end());
    g.reconciled_open = true;
  }
  while (!g.offline_requests.empty()) {
    const std::string request_id = g.offline_requests.back();
    auto local = Read("global budgets", [&](sqlite::Connection& conn) {
      return cost::FindReservationRecord(conn, request_id, now);
    });
    if (!local.ok()) return local.status();
    if (*local) {
      const Reservation& r = (*local)->reservation;
      sync::GlobalReservation gr{g.store_id, request_id, r.user_key, r.team_key, r.amount_nanousd, r.created_at,
                                 r.expires_at};
      CONVSTORE_RETURN_IF_ERROR(sync::AdoptGlobally(*g.pg, g.options.schema, gr, r.state,
                                                    (*local)->settled_cost_nanousd.value_or(0)));
    }
    g.offline_requests.pop_back();
  }
  g.offline_admitted_nanousd = 0;
  return Status::OK();
}

Status StoreImpl::DoSetGlobalBudget(const BudgetInput& budget) {
  auto scope = cost::ValidateBudget(budget);
  if (!scope.ok()) return scope.status();
  std::unique_lock lock(global_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!global_) return Status::InvalidArgument("global budgets are not in use: call UseGlobalBudgets first");
  CONVSTORE_RETURN_IF_ERROR(ConnectGlobal(*global_));
  return sync::PutGlobalBudget(*global_->pg, global_->options.schema, budget);
}

Status StoreImpl::DoDeleteGlobalBudget(std::string_view name) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(name, "budget name"));
  std::unique_lock lock(global_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!global_) return Status::InvalidArgument("global budgets are not in use: call UseGlobalBudgets first");
  CONVSTORE_RETURN_IF_ERROR(ConnectGlobal(*global_));
  return sync::DeleteGlobalBudget(*global_->pg, global_->options.schema, std::string(name));
}

Result<std::vector<GlobalBudgetState>> StoreImpl::DoListGlobalBudgets() {
  std::unique_lock lock(global_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!global_) return Status::InvalidArgument("global budgets are not in use: call UseGlobalBudgets first");
  CONVSTORE_RETURN_IF_ERROR(ConnectGlobal(*global_));
  auto listed = sync::ListGlobalBudgets(*global_->pg, global_->options.schema, Now(), Windows());
  if (!listed.ok()) return listed.status();
  std::vector<GlobalBudgetState> out;
  for (auto& s : *listed)
    out.push_back({std::move(s.budget), s.window_from, s.window_to, s.settled_nanousd, s.reserved_nanousd});
  return out;
}

Status StoreImpl::AdmitGlobally(const Reservation& local) {
  std::unique_lock lock(global_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!global_) return Status::OK();
  GlobalBudgetSession& g = *global_;
  Status s = ConnectGlobal(g);
  if (s.ok()) {
    sync::GlobalReservation gr{g.store_id, local.request_id, local.user_key, local.team_key, local.amount_nanousd,
                               local.created_at, local.expires_at};
    auto admitted = sync::ReserveGlobally(*g.pg, g.options.schema, gr, Now(), Windows());
    s = admitted.status();
  }
  if (s.code() == Code::kUnavailable) {
    g.pg.reset();
    if (g.options.when_unreachable == GlobalBudgetFallback::kLocalAllowance &&
        local.amount_nanousd <= g.options.local_allowance_nanousd - g.offline_admitted_nanousd) {
      g.offline_admitted_nanousd += local.amount_nanousd;
      g.offline_requests.push_back(local.request_id);
      util::Logger().warn("global budgets: PostgreSQL unreachable; reservation '{}' admitted on the local allowance "
                          "({} of {} nano-USD used): {}",
                          local.request_id, g.offline_admitted_nanousd, g.options.local_allowance_nanousd,
                          s.message());
      return Status::OK();
    }
  }
  return s;
}

void StoreImpl::RecordGlobally(const std::string& request_id, bool settled, NanoUsd cost) {
  std::unique_lock lock(global_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!global_) return;
  GlobalBudgetSession& g = *global_;
  Status s = ConnectGlobal(g);
  if (s.ok())
    s = settled ? sync::SettleGlobally(*g.pg, g.options.schema, g.store_id, request_id, cost, Now())
                : sync::ReleaseGlobally(*g.pg, g.options.schema, g.store_id, request_id);
  if (!s.ok()) {
    // The store has it; the ledger learns it when PostgreSQL is back (until then it counts the reservation).
    if (s.code() == Code::kUnavailable) g.pg.reset();
    g.offline_requests.push_back(request_id);
    util::Logger().warn("global budgets: could not record the {} of '{}' in PostgreSQL (kept for later): {}",
                        settled ? "settlement" : "release", request_id, s.ToString());
  }
}

}  // namespace convstore::api
