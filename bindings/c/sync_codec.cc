#include "sync_codec.h"

#include "json_fields.h"
#include "ops_codec.h"

namespace convstore::capi {
namespace {

void WriteSyncReport(JsonWriter& w, const SyncReport& r) {
  w.BeginObject();
  w.Key("store_id").String(r.store_id);
  w.Key("loaded").Bool(r.loaded);
  w.Key("load_reason").String(r.load_reason);
  w.Key("rows_loaded").Int(r.rows_loaded);
  w.Key("entries_applied").Int(r.entries_applied);
  w.Key("changes_applied").Int(r.changes_applied);
  w.Key("dead_letters").Int(r.dead_letters);
  w.Key("position").Int(r.position);
  WriteTime(w, "position_committed_at", r.position_committed_at);
  w.Key("pending_entries").Int(r.pending_entries);
  w.Key("lag_us").Int(r.lag_us);
  w.EndObject();
}

}  // namespace

Result<SyncOptions> DecodeSyncOptions(std::string_view text) {
  auto decoded = DecodeObject<SyncOptions>(text, "sync options", [](Fields& f, SyncOptions& o) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("postgres", o.postgres_url));
    CONVSTORE_RETURN_IF_ERROR(f.Str("schema", o.schema));
    CONVSTORE_RETURN_IF_ERROR(f.Str("label", o.label));
    std::optional<int64_t> interval_ms, batch;
    CONVSTORE_RETURN_IF_ERROR(f.Int("interval_ms", interval_ms));
    CONVSTORE_RETURN_IF_ERROR(f.Int("batch_entries", batch));
    if (interval_ms) {
      auto us = ToMicros(*interval_ms, 1000, "interval_ms");
      if (!us.ok()) return us.status();
      o.interval_us = *us;
    }
    if (batch) o.batch_entries = *batch;
    return Status::OK();
  });
  if (!decoded.ok()) return decoded;
  if (decoded->postgres_url.empty())
    return Status::InvalidArgument("sync options: postgres is required (a libpq connection string or URI)");
  return decoded;
}

std::string EncodeSyncReport(const SyncReport& r) {
  JsonWriter w;
  WriteSyncReport(w, r);
  return w.Take();
}

std::string EncodeSyncStatus(const SyncStatus& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("running").Bool(s.running);
  w.Key("postgres").String(s.postgres);
  w.Key("rounds").Int(s.rounds);
  w.Key("failed_rounds").Int(s.failed_rounds);
  w.Key("consecutive_failures").Int(s.consecutive_failures);
  w.Key("last_error").String(s.last_error);
  WriteTime(w, "last_success_at", s.last_success_at);
  w.Key("totals");
  WriteSyncReport(w, s.totals);
  w.EndObject();
  return w.Take();
}

Result<GlobalBudgetOptions> DecodeGlobalBudgetOptions(std::string_view text) {
  auto read = [](Fields& f, GlobalBudgetOptions& o) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("postgres", o.postgres_url));
    CONVSTORE_RETURN_IF_ERROR(f.Str("schema", o.schema));
    std::string fallback;
    CONVSTORE_RETURN_IF_ERROR(f.Str("when_unreachable", fallback));
    if (fallback == "local_allowance") {
      o.when_unreachable = GlobalBudgetFallback::kLocalAllowance;
    } else if (!fallback.empty() && fallback != "refuse") {
      return Status::InvalidArgument("global budget options: when_unreachable must be \"refuse\" or "
                                     "\"local_allowance\"");
    }
    std::optional<NanoUsd> allowance;
    CONVSTORE_RETURN_IF_ERROR(f.Money("local_allowance", allowance));
    o.local_allowance_nanousd = allowance.value_or(0);
    return Status::OK();
  };
  auto decoded = DecodeObject<GlobalBudgetOptions>(text, "global budget options", read);
  if (!decoded.ok()) return decoded;
  if (decoded->postgres_url.empty())
    return Status::InvalidArgument("global budget options: postgres is required (a libpq connection string or URI)");
  return decoded;
}

std::string EncodeGlobalBudgets(const std::vector<GlobalBudgetState>& budgets) {
  JsonWriter w;
  w.BeginArray();
  for (const GlobalBudgetState& b : budgets) {
    w.BeginObject();
    w.Key("name").String(b.budget.name);
    w.Key("scope").String(b.budget.scope);
    w.Key("scope_key").String(b.budget.scope_key);
    w.Key("period").String(b.budget.period);
    w.Key("window_hours").Int(b.budget.window_hours);
    WriteMoney(w, "hard_limit", b.budget.hard_limit_nanousd);
    WriteMoney(w, "soft_limit", b.budget.soft_limit_nanousd);
    WriteTime(w, "window_from", b.window_from);
    WriteTime(w, "window_to", b.window_to);
    WriteMoney(w, "settled", std::optional<NanoUsd>(b.settled_nanousd));
    WriteMoney(w, "reserved", std::optional<NanoUsd>(b.reserved_nanousd));
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

}  // namespace convstore::capi
