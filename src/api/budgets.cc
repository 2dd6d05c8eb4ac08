// Budgets and reservations.
#include "api/store_impl.h"
#include "api/usage_write.h"
#include "cost/budgets.h"
#include "util/json_writer.h"

namespace convstore::api {

namespace {

// The audit entry of a budget change: its definition as stored, with a user-scoped budget's person named by
// their pseudonymous id (the entry's subject) rather than their key, and its name — which often names the person —
// kept in the entry's erasable personal details rather than as the resource id. nullopt when there is no such
// budget.
Result<std::optional<AuditNote>> BudgetNote(sqlite::Connection& conn, const char* action, std::string_view name) {
  return conn.QueryRow(
      "SELECT b.scope, b.scope_id, b.period, b.window_hours, b.hard_limit_nanousd, b.soft_limit_nanousd, t.key "
      "FROM budgets b LEFT JOIN teams t ON b.scope = 1 AND t.id = b.scope_id WHERE b.name = ?1",
      "audit: read the budget",
      [&](const sqlite::Stmt& st) {
        static constexpr const char* kScopes[] = {"global", "team", "user"};
        const int64_t scope = st.Int(0);
        util::JsonWriter w;
        w.BeginObject().Key("scope").String(scope >= 0 && scope <= 2 ? kScopes[scope] : "unknown");
        if (scope == 1) w.Key("team").String(st.Text(6));
        w.Key("period").String(st.Text(2));
        if (st.Int(3) > 0) w.Key("window_hours").Int(st.Int(3));
        if (!st.IsNull(4)) w.Key("hard_limit_nanousd").Int(st.Int(4));
        if (!st.IsNull(5)) w.Key("soft_limit_nanousd").Int(st.Int(5));
        w.EndObject();
        AuditNote note{action, "budget", std::string(name)};
        if (scope == 2) {
          note.subject_user_id = st.Int(1);
          note.resource_id.clear();
          note.personal = util::JsonWriter().BeginObject().Key("name").String(name).EndObject().Take();
        }
        note.details = w.Take();
        return note;
      },
      name);
}

}  // namespace

Result<BudgetState> StoreImpl::DoSetBudget(const BudgetInput& in) {
  auto scope = cost::ValidateBudget(in);
  if (!scope.ok()) return scope.status();
  int64_t now = Now();
  const AuditActor who = CurrentAuditActor();
  return Write("set_budget", [&](sqlite::Connection& conn) -> Result<BudgetState> {
    auto state = cost::SetBudget(conn, in, *scope, now);
    if (!state.ok()) return state;
    auto note = BudgetNote(conn, "budget.set", in.name);
    if (!note.ok()) return note.status();
    if (*note) CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, std::move(**note)));
    return state;
  });
}

Status StoreImpl::DoDeleteBudget(std::string_view name) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(name, "name"));
  const AuditActor who = CurrentAuditActor();
  return Write("delete_budget", [&](sqlite::Connection& conn) -> Status {
    auto note = BudgetNote(conn, "budget.deleted", name);
    if (!note.ok()) return note.status();
    CONVSTORE_RETURN_IF_ERROR(cost::DeleteBudget(conn, name));
    if (*note) CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, std::move(**note)));
    return Status::OK();
  });
}

Result<std::vector<BudgetState>> StoreImpl::DoGetBudgets(double min_used_fraction) {
  if (!(min_used_fraction >= 0) || min_used_fraction > 1e6)
    return Status::InvalidArgument("min_used_fraction must be a number between 0 and 1e6");
  int64_t now = Now();
  return Read("get_budgets", [&](sqlite::Connection& conn) -> Result<std::vector<BudgetState>> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return cost::BudgetStates(conn, min_used_fraction, now);
  });
}

Result<Reservation> StoreImpl::DoReserve(const ReserveRequest& request) {
  CONVSTORE_RETURN_IF_ERROR(cost::ValidateReserve(request));
  int64_t now = Now();
  auto local = Write("reserve", [&](sqlite::Connection& conn) { return cost::Reserve(conn, request, now); });
  if (!local.ok() || local->state != "open") return local;
  // Global budgets: admitted there too, or the local reservation is released and the refusal returned.
  Status global = AdmitGlobally(*local);
  if (global.ok()) return local;
  (void)Write("reserve", [&](sqlite::Connection& conn) { return cost::Release(conn, request.request_id, Now()); });
  return global;
}

Result<ApiUsage> StoreImpl::DoSettle(std::string_view request_id, const NewApiUsage& usage) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(request_id, "request_id"));
  if (!usage.request_id.empty() && usage.request_id != request_id)
    return Status::InvalidArgument("usage.request_id must be empty or equal to the reservation's request_id");
  records::ValidUsage valid;
  int64_t now = Now();
  CONVSTORE_RETURN_IF_ERROR(records::ValidateUsage(usage, now, false, valid));
  auto settled = WriteAlerting("settle", [&](sqlite::Connection& conn, std::vector<BudgetAlert>* alerts) -> Result<ApiUsage> {
    auto target = cost::BeginSettle(conn, request_id, usage.user_key, now);
    if (!target.ok()) return target.status();
    const Reservation& r = target->reservation;
    cost::SpendNote spent;
    auto recorded = RecordUsage(conn, valid, r.user_key, request_id, now, spent);
    if (!recorded.ok()) return recorded.status();
    // A retry of a settled reservation wrote nothing (`spent` is empty): nothing to assess.
    const bool exceeded = r.expires_at <= now || recorded->cost_nanousd.value_or(0) > r.amount_nanousd;
    CONVSTORE_RETURN_IF_ERROR(cost::AssessSpend(conn, spent, now, exceeded, recorded->budget_overages, alerts));
    if (target->open) CONVSTORE_RETURN_IF_ERROR(cost::FinishSettle(conn, request_id, recorded->id));
    return recorded;
  });
  if (settled.ok()) RecordGlobally(std::string(request_id), true, settled->cost_nanousd.value_or(0));
  return settled;
}

Result<Reservation> StoreImpl::DoRelease(std::string_view request_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(request_id, "request_id"));
  int64_t now = Now();
  auto released = Write("release", [&](sqlite::Connection& conn) { return cost::Release(conn, request_id, now); });
  if (released.ok()) RecordGlobally(std::string(request_id), false, 0);
  return released;
}

}  // namespace convstore::api
