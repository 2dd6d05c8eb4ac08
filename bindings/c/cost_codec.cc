#include "cost_codec.h"

#include <tuple>

#include "json_fields.h"

namespace convstore::capi {

namespace {

// The filter fields shared by summaries, group-bys and usage statistics.
Status ReadFilter(Fields& f, CostFilter& c) {
  CONVSTORE_RETURN_IF_ERROR(f.Time("from", c.from));
  CONVSTORE_RETURN_IF_ERROR(f.Time("to", c.to));
  CONVSTORE_RETURN_IF_ERROR(f.Int("days", c.days));
  CONVSTORE_RETURN_IF_ERROR(f.Str("user", c.user_key));
  CONVSTORE_RETURN_IF_ERROR(f.Str("team", c.team_key));
  CONVSTORE_RETURN_IF_ERROR(f.Str("model", c.model));
  CONVSTORE_RETURN_IF_ERROR(f.Str("conversation_id", c.conversation_id));
  CONVSTORE_RETURN_IF_ERROR(f.Str("source", c.source));
  return f.Int("utc_offset_minutes", c.utc_offset_minutes);
}

void WriteOptString(JsonWriter& w, const char* name, const std::string& v) {
  w.Key(name);
  if (v.empty()) w.Null(); else w.String(v);
}

void WritePrice(JsonWriter& w, const Price& p) {
  w.BeginObject();
  w.Key("id").Int(p.id);
  w.Key("model").String(p.model);
  w.Key("pattern").Bool(p.is_pattern);
  WriteTime(w, "effective_from", p.effective_from);
  w.Key("origin").String(p.origin);
  WriteMoney(w, "input_per_mtok", p.input_per_mtok);
  WriteMoney(w, "output_per_mtok", p.output_per_mtok);
  WriteMoney(w, "cached_input_per_mtok", p.cached_input_per_mtok);
  WriteMoney(w, "cache_write_per_mtok", p.cache_write_per_mtok);
  WriteMoney(w, "reasoning_per_mtok", p.reasoning_per_mtok);
  w.Key("source_date").String(p.source_date);
  w.Key("note").String(p.note);
  w.EndObject();
}

void WriteBudgetState(JsonWriter& w, const BudgetState& b) {
  w.BeginObject();
  w.Key("name").String(b.budget.name);
  w.Key("scope").String(b.budget.scope);
  WriteOptString(w, "scope_key", b.budget.scope_key);
  w.Key("period").String(b.budget.period);
  w.Key("window_hours").Int(b.budget.window_hours);
  WriteMoney(w, "hard_limit", b.budget.hard_limit_nanousd);
  WriteMoney(w, "soft_limit", b.budget.soft_limit_nanousd);
  WriteTime(w, "window_from", b.window_from);
  WriteTime(w, "window_to", b.window_to);
  WriteMoney(w, "spent", b.spent_nanousd);
  WriteMoney(w, "reserved", b.reserved_nanousd);
  w.Key("used_fraction");
  if (b.used_fraction) w.Double(*b.used_fraction); else w.Null();
  w.Key("over_soft").Bool(b.over_soft);
  w.Key("over_hard").Bool(b.over_hard);
  w.EndObject();
}

}  // namespace

Result<PriceInput> DecodePrice(std::string_view text) {
  std::optional<bool> pattern;
  std::optional<Micros> from;
  std::optional<NanoUsd> input, output;
  auto decoded = DecodeObject<PriceInput>(text, "price", [&](Fields& f, PriceInput& p) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("model", p.model));
    CONVSTORE_RETURN_IF_ERROR(f.Bool("pattern", pattern));
    CONVSTORE_RETURN_IF_ERROR(f.Time("effective_from", from));
    CONVSTORE_RETURN_IF_ERROR(f.Money("input_per_mtok", input));
    CONVSTORE_RETURN_IF_ERROR(f.Money("output_per_mtok", output));
    CONVSTORE_RETURN_IF_ERROR(f.Money("cached_input_per_mtok", p.cached_input_per_mtok));
    CONVSTORE_RETURN_IF_ERROR(f.Money("cache_write_per_mtok", p.cache_write_per_mtok));
    CONVSTORE_RETURN_IF_ERROR(f.Money("reasoning_per_mtok", p.reasoning_per_mtok));
    CONVSTORE_RETURN_IF_ERROR(f.Str("source_date", p.source_date));
    return f.Str("note", p.note);
  });
  if (!decoded.ok()) return decoded;
  if (!input || !output)
    return Status::InvalidArgument("'input_per_mtok_usd' and 'output_per_mtok_usd' (or their _nanousd forms) are required");
  decoded->is_pattern = pattern.value_or(false);
  decoded->effective_from = from.value_or(0);
  decoded->input_per_mtok = *input;
  decoded->output_per_mtok = *output;
  return decoded;
}

Result<NewApiUsage> DecodeApiUsage(std::string_view text) {
  std::optional<std::string> status;
  auto decoded = DecodeObject<NewApiUsage>(text, "usage", [&](Fields& f, NewApiUsage& u) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("user", u.user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("team", u.team_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("conversation_id", u.conversation_id));
    CONVSTORE_RETURN_IF_ERROR(f.Str("model", u.model));
    CONVSTORE_RETURN_IF_ERROR(f.Str("endpoint", u.endpoint));
    CONVSTORE_RETURN_IF_ERROR(ReadSpend(f, u, SpendReadOrder::kUsage));
    CONVSTORE_RETURN_IF_ERROR(f.Str("status", status));
    CONVSTORE_RETURN_IF_ERROR(f.Str("error_code", u.error_code));
    CONVSTORE_RETURN_IF_ERROR(f.Str("error_message", u.error_message));
    CONVSTORE_RETURN_IF_ERROR(f.Doc("metadata", u.metadata_json, true));
    CONVSTORE_RETURN_IF_ERROR(f.Str("request_id", u.request_id));
    return f.Time("recorded_at", u.recorded_at);
  });
  if (!decoded.ok()) return decoded;
  if (status) decoded->status = *status;
  return decoded;
}

Result<CostFilter> DecodeCostFilter(std::string_view text) {
  return DecodeObject<CostFilter>(text, "filter", ReadFilter);
}

Result<std::pair<CostFilter, std::vector<std::string>>> DecodeGroupQuery(std::string_view text) {
  auto obj = ParseObject(text, "query");
  if (!obj.ok()) return obj.status();
  std::vector<std::string> dims;
  auto it = obj->find("group_by");
  if (it == obj->end() || !it->is_array())
    return Status::InvalidArgument("'group_by' is required: an array of dimension names");
  for (const auto& d : *it) {
    if (!d.is_string()) return Status::InvalidArgument("'group_by' must hold strings");
    dims.push_back(d.get<std::string>());
  }
  json rest = *obj;
  rest.erase("group_by");
  Fields f(rest, "");
  CostFilter c;
  CONVSTORE_RETURN_IF_ERROR(ReadFilter(f, c));
  CONVSTORE_RETURN_IF_ERROR(f.Finish());
  return std::make_pair(std::move(c), std::move(dims));
}

Result<std::pair<Micros, Micros>> DecodeRange(std::string_view text) {
  std::optional<Micros> from, to;
  auto decoded = DecodeObject<std::pair<Micros, Micros>>(text, "range", [&](Fields& f, std::pair<Micros, Micros>&) {
    CONVSTORE_RETURN_IF_ERROR(f.Time("from", from));
    return f.Time("to", to);
  });
  if (!decoded.ok()) return decoded;
  if (!from || !to) return Status::InvalidArgument("'from' and 'to' are required");
  return std::make_pair(*from, *to);
}

Result<BudgetInput> DecodeBudget(std::string_view text) {
  return DecodeObject<BudgetInput>(text, "budget", [](Fields& f, BudgetInput& b) -> Status {
    std::optional<int64_t> hours;
    CONVSTORE_RETURN_IF_ERROR(f.Str("name", b.name));
    CONVSTORE_RETURN_IF_ERROR(f.Str("scope", b.scope));
    CONVSTORE_RETURN_IF_ERROR(f.Str("scope_key", b.scope_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("period", b.period));
    CONVSTORE_RETURN_IF_ERROR(f.Int("window_hours", hours));
    CONVSTORE_RETURN_IF_ERROR(f.Money("hard_limit", b.hard_limit_nanousd));
    CONVSTORE_RETURN_IF_ERROR(f.Money("soft_limit", b.soft_limit_nanousd));
    b.window_hours = hours.value_or(0);
    return Status::OK();
  });
}

Result<ReserveRequest> DecodeReserve(std::string_view text) {
  std::optional<NanoUsd> estimate;
  std::optional<int64_t> ttl;
  auto decoded = DecodeObject<ReserveRequest>(text, "reservation", [&](Fields& f, ReserveRequest& r) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("request_id", r.request_id));
    CONVSTORE_RETURN_IF_ERROR(f.Str("user", r.user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Money("estimated_cost", estimate));
    return f.Int("ttl_us", ttl);
  });
  if (!decoded.ok()) return decoded;
  if (!estimate) return Status::InvalidArgument("'estimated_cost_usd' (or 'estimated_cost_nanousd') is required");
  decoded->estimated_cost_nanousd = *estimate;
  if (ttl) decoded->ttl_us = *ttl;
  return decoded;
}

std::string EncodePrice(const Price& p) {
  JsonWriter w;
  WritePrice(w, p);
  return w.Take();
}

std::string EncodePrices(const std::vector<Price>& ps) {
  JsonWriter w;
  w.BeginArray();
  for (const Price& p : ps) WritePrice(w, p);
  w.EndArray();
  return w.Take();
}

std::string EncodeApiUsage(const ApiUsage& u) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(u.id);
  w.Key("user").String(u.user_key);
  WriteOptString(w, "team", u.team_key);
  WriteOptString(w, "conversation_id", u.conversation_id);
  w.Key("model").String(u.model);
  w.Key("endpoint").String(u.endpoint);
  WriteSpend(w, u);
  w.Key("status").String(u.status);
  w.Key("error_code").String(u.error_code);
  w.Key("error_message").String(u.error_message);
  w.Key("metadata").Raw(u.metadata_json);
  WriteOptString(w, "request_id", u.request_id);
  WriteTime(w, "recorded_at", u.recorded_at);
  // Only what settle / record_api_usage report: a record read back (a search result) has none.
  if (!u.budget_overages.empty()) {
    w.Key("budget_overages").BeginArray();
    for (const BudgetOverage& o : u.budget_overages) {
      w.BeginObject();
      w.Key("budget").String(o.budget_name);
      WriteMoney(w, "limit", o.limit_nanousd);
      WriteMoney(w, "spent", o.spent_nanousd);
      WriteMoney(w, "overage", o.overage_nanousd);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return w.Take();
}

std::string EncodeCostSummary(const CostSummary& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("daily_breakdown").BeginArray();
  for (const DailyCost& d : s.daily) {
    w.BeginObject();
    w.Key("date").String(d.date);
    w.Key("message_count").Int(d.message_count);
    w.Key("total_input_tokens").Int(d.tokens_input);
    w.Key("total_output_tokens").Int(d.tokens_output);
    WriteMoney(w, "total_cost", d.cost_nanousd);
    w.EndObject();
  }
  w.EndArray();
  WriteMoney(w, "total_cost", s.total_cost_nanousd);
  w.Key("total_messages").Int(s.total_messages);
  WriteMoney(w, "avg_cost_per_message", s.avg_cost_per_message_nanousd);
  WriteTime(w, "from", s.from);
  WriteTime(w, "to", s.to);
  w.Key("plan").String(s.plan);
  w.EndObject();
  return w.Take();
}

namespace {

void WriteCostGroup(JsonWriter& w, const std::vector<std::string>& group_by, const CostGroup& c) {
  w.BeginObject();
  w.Key("keys").BeginObject();
  for (size_t i = 0; i < group_by.size() && i < c.keys.size(); ++i) w.Key(group_by[i]).String(c.keys[i]);
  w.EndObject();
  w.Key("count").Int(c.count);
  w.Key("errors").Int(c.errors);
  w.Key("tokens_input").Int(c.tokens_input);
  w.Key("tokens_output").Int(c.tokens_output);
  w.Key("tokens_cached_input").Int(c.tokens_cached_input);
  w.Key("tokens_cache_write").Int(c.tokens_cache_write);
  w.Key("tokens_reasoning").Int(c.tokens_reasoning);
  WriteMoney(w, "cost", c.cost_nanousd);
  w.Key("latency_count").Int(c.latency_count);
  w.Key("latency_sum_us").Int(c.latency_sum_us);
  w.EndObject();
}

}  // namespace

std::string EncodeCostGroups(const CostGroupResult& g) {
  JsonWriter w;
  w.BeginObject();
  w.Key("group_by").BeginArray();
  for (const std::string& d : g.group_by) w.String(d);
  w.EndArray();
  w.Key("groups").BeginArray();
  for (const CostGroup& c : g.groups) WriteCostGroup(w, g.group_by, c);
  w.EndArray();
  w.Key("plan").String(g.plan);
  w.EndObject();
  return w.Take();
}

std::string EncodeUsageStats(const std::vector<UsageStat>& stats) {
  JsonWriter w;
  w.BeginArray();
  for (const UsageStat& u : stats) {
    w.BeginObject();
    w.Key("user").String(u.user_key);
    w.Key("model").String(u.model);
    w.Key("calls").Int(u.calls);
    w.Key("errors").Int(u.errors);
    w.Key("tokens_input").Int(u.tokens_input);
    w.Key("tokens_output").Int(u.tokens_output);
    WriteMoney(w, "cost", u.cost_nanousd);
    w.Key("latency_count").Int(u.latency_count);
    w.Key("avg_latency_us").Int(u.avg_latency_us);
    w.Key("p50_latency_us").Int(u.p50_latency_us);
    w.Key("p95_latency_us").Int(u.p95_latency_us);
    w.Key("p99_latency_us").Int(u.p99_latency_us);
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

std::string EncodeTeamSpend(const TeamSpend& t) {
  JsonWriter w;
  w.BeginObject();
  w.Key("team").String(t.team_key);
  w.Key("month").String(t.month);
  WriteMoney(w, "month_to_date", t.month_to_date_nanousd);
  WriteMoney(w, "monthly_budget", t.monthly_budget_nanousd);
  w.Key("budget_used_percent");
  if (t.budget_used_percent) w.Double(*t.budget_used_percent); else w.Null();
  WriteMoney(w, "projected_month_end", t.projected_month_end_nanousd);
  w.Key("lookback_days").Int(t.lookback_days);
  WriteMoney(w, "daily_average", t.daily_average_nanousd);
  WriteMoney(w, "monthly_projection", t.monthly_projection_nanousd);
  WriteMoney(w, "annual_projection", t.annual_projection_nanousd);
  w.EndObject();
  return w.Take();
}

Result<CostReportOptions> DecodeCostReportOptions(std::string_view text) {
  return DecodeObject<CostReportOptions>(text, "cost report options", [](Fields& f, CostReportOptions& o) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Int("top", o.top));
    CONVSTORE_RETURN_IF_ERROR(f.Int("lookback_days", o.lookback_days));
    return ReadFilter(f, o.filter);
  });
}

std::string EncodeCostReport(const CostReport& r) {
  JsonWriter w;
  w.BeginObject();
  WriteTime(w, "generated_at", r.generated_at);
  w.Key("summary").Raw(EncodeCostSummary(r.summary));
  w.Key("daily_by_model").Raw(EncodeCostGroups(r.daily_by_model));
  w.Key("models").BeginArray();
  for (const std::string& m : r.models) w.String(m);
  w.EndArray();
  for (auto [key, dim, groups] : {std::tuple{"top_users", "user", &r.top_users},
                                  std::tuple{"top_teams", "team", &r.top_teams}}) {
    const std::vector<std::string> group_by{dim};
    w.Key(key).BeginArray();
    for (const CostGroup& g : *groups) WriteCostGroup(w, group_by, g);
    w.EndArray();
  }
  w.Key("users_with_spend").Int(r.users_with_spend);
  w.Key("teams_with_spend").Int(r.teams_with_spend);
  w.Key("team_budgets").BeginArray();
  for (const TeamSpend& t : r.team_budgets) w.Raw(EncodeTeamSpend(t));
  w.EndArray();
  w.Key("latency_by_model").BeginArray();
  for (const ModelLatency& l : r.latency_by_model) {
    w.BeginObject();
    w.Key("model").String(l.model);
    w.Key("calls").Int(l.calls);
    w.Key("latency_count").Int(l.latency_count);
    w.Key("avg_latency_us").Int(l.avg_latency_us);
    w.Key("p50_latency_us").Int(l.p50_latency_us);
    w.Key("p95_latency_us").Int(l.p95_latency_us);
    w.Key("p99_latency_us").Int(l.p99_latency_us);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string EncodeRollupReport(const RollupReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("raw_rows").Int(r.raw_rows);
  w.Key("rollup_rows").Int(r.rollup_rows);
  w.Key("total_rows").Int(r.total_rows);
  w.Key("differences").Int(r.differences);
  w.Key("overflows").Int(r.overflows);
  w.Key("samples").BeginArray();
  for (const std::string& s : r.samples) w.String(s);
  w.EndArray();
  w.Key("repaired").Bool(r.repaired);
  w.EndObject();
  return w.Take();
}

std::string EncodeRepriceReport(const RepriceReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("messages_repriced").Int(r.messages_repriced);
  w.Key("usage_repriced").Int(r.usage_repriced);
  WriteMoney(w, "cost_delta", r.cost_delta_nanousd);
  w.EndObject();
  return w.Take();
}

std::string EncodeBudgetState(const BudgetState& b) {
  JsonWriter w;
  WriteBudgetState(w, b);
  return w.Take();
}

std::string EncodeBudgetStates(const std::vector<BudgetState>& bs) {
  JsonWriter w;
  w.BeginArray();
  for (const BudgetState& b : bs) WriteBudgetState(w, b);
  w.EndArray();
  return w.Take();
}

std::string EncodeReservation(const Reservation& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("request_id").String(r.request_id);
  w.Key("user").String(r.user_key);
  WriteOptString(w, "team", r.team_key);
  WriteMoney(w, "amount", r.amount_nanousd);
  w.Key("state").String(r.state);
  WriteTime(w, "created_at", r.created_at);
  WriteTime(w, "expires_at", r.expires_at);
  WriteOptString(w, "usage_id", r.usage_id);
  w.Key("budgets").BeginArray();
  for (const BudgetState& b : r.budgets) WriteBudgetState(w, b);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string EncodeBudgetAlert(const BudgetAlert& a) {
  JsonWriter w;
  w.BeginObject();
  w.Key("budget").String(a.budget_name);
  w.Key("limit").String(a.limit);
  WriteMoney(w, "spent", a.spent_nanousd);
  WriteMoney(w, "limit_amount", a.limit_nanousd);
  w.EndObject();
  return w.Take();
}

}  // namespace convstore::capi
