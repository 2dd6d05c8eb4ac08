// Cost accounting records: prices, API usage, summaries, rollup checks and budgets.
//
// Money is int64 nano-USD, exact; prices are nano-USD per million tokens. Time is int64 µs since the Unix epoch,
// UTC. Plain values: copy and move freely; not shared mutably between threads.
#ifndef CONVSTORE_COST_H_
#define CONVSTORE_COST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

// ---- price catalog ------------------------------------------------------------------------------------

// Prices per million tokens. A token count is billed at its own kind's rate: tokens_input at input, tokens_output
// at output, tokens_cached_input at cached_input (unset: input), tokens_cache_write at cache_write (unset: input),
// tokens_reasoning at reasoning (unset: output). cost = round_half_up(sum(tokens_k * rate_k) / 1e6) nano-USD.
struct Price {
  int64_t id = 0;
  std::string model{};      // an exact model name, or a GLOB pattern ("claude-sonnet-4-5*") when is_pattern
  bool is_pattern = false;
  Micros effective_from = 0;
  std::string origin{};     // "catalog" (shipped with convstore) or "user" (added through the API)
  NanoUsd input_per_mtok = 0;
  NanoUsd output_per_mtok = 0;
  std::optional<NanoUsd> cached_input_per_mtok{};
  std::optional<NanoUsd> cache_write_per_mtok{};
  std::optional<NanoUsd> reasoning_per_mtok{};
  std::string source_date{}; // the date the price was taken (YYYY-MM-DD), as given
  std::string note{};
};

// Adds a user price, or replaces the user price with the same (model, is_pattern, effective_from).
// Resolution for a model at time t, among prices with effective_from <= t: an exact name beats a pattern (the
// longest matching pattern beats shorter ones); then a user price beats a catalog price; then the latest
// effective_from wins.
struct PriceInput {
  std::string model{};  // required, 1..kMaxNameBytes
  bool is_pattern = false;
  Micros effective_from = 0;    // 0: in effect from the beginning; otherwise a timestamp (limits.h)
  NanoUsd input_per_mtok = 0;   // each 0..kMaxPriceNanoUsdPerMtok
  NanoUsd output_per_mtok = 0;
  std::optional<NanoUsd> cached_input_per_mtok{};
  std::optional<NanoUsd> cache_write_per_mtok{};
  std::optional<NanoUsd> reasoning_per_mtok{};
  std::string source_date{};
  std::string note{};
};

// ---- API usage ----------------------------------------------------------------------------------------

// A hard budget that spend went past: hard limits cap what reservations admit, not what calls turn out to cost
// (a settle above its reservation, or after it expired, is still recorded — the call happened).
struct BudgetOverage {
  std::string budget_name{};
  NanoUsd limit_nanousd = 0;    // the hard limit
  NanoUsd spent_nanousd = 0;    // spend in the budget's current window, this call included
  NanoUsd overage_nanousd = 0;  // spent - limit
};

struct ApiUsage {
  std::string id{};
  std::string user_key{};
  std::string team_key{};       // "" when none
  std::string conversation_id{}; // "" when none (or when the conversation was deleted)
  std::string model{};
  std::string endpoint{};
  std::optional<int64_t> tokens_input{}, tokens_output{}, tokens_cached_input{}, tokens_cache_write{}, tokens_reasoning{};
  std::optional<NanoUsd> cost_nanousd{};
  std::optional<int64_t> price_id{};  // the price that produced cost_nanousd; unset for an explicit cost
  std::optional<int64_t> latency_us{};
  std::string status{};  // "success" or "error"
  std::string error_code{};
  std::string error_message{};
  std::string metadata_json = "{}";
  std::string request_id{};
  Micros recorded_at = 0;
  // Filled by Settle and RecordApiUsage (empty elsewhere, and for a retry): the hard budgets whose spend is above
  // their limit with this call counted. The call is recorded all the same; an on_budget_alert "hard" alert fires
  // when this call crossed the limit, or when a settle cost more than its reservation (or came after it expired).
  std::vector<BudgetOverage> budget_overages{};
};

struct NewApiUsage {
  std::string user_key{};       // required; created when it does not exist
  std::optional<std::string> team_key{};  // default: the user's team; "" for none; must exist otherwise
  std::string conversation_id{};  // optional; must exist when given
  std::string model{};            // required, 1..kMaxNameBytes
  std::string endpoint{};
  std::optional<int64_t> tokens_input{}, tokens_output{}, tokens_cached_input{}, tokens_cache_write{}, tokens_reasoning{};
  // Give at most one. Without either, the cost comes from the price in effect at recorded_at (if any).
  std::optional<NanoUsd> cost_nanousd{};
  std::optional<double> cost_usd{};
  std::optional<int64_t> latency_us{};
  std::string status = "success";  // "success" or "error"
  std::string error_code{};
  std::string error_message{};
  std::string metadata_json = "{}";
  std::string request_id{};  // idempotency key: a retry returns the first record
  std::optional<Micros> recorded_at{};
};

// ---- summaries ----------------------------------------------------------------------------------------

// Which rows a cost query counts, and over which time range.
struct CostFilter {
  // Range [from, to), at most 3,660 days. Unset from: the `days` days before `to`; unset to: now.
  std::optional<Micros> from{};
  std::optional<Micros> to{};
  int days = 7;  // 1..3660, used when from is unset
  std::string user_key{};       // "" for all
  std::string team_key{};
  std::string model{};
  std::string conversation_id{}; // served from the conversation's own rows (its messages and API usage)
  // "all" (the default: messages and API usage, exactly what budgets count), "message" or "api".
  std::string source = "all";
  // Day boundaries at this fixed offset from UTC (-1440..1440). Whole hours are served from the hourly rollups;
  // other offsets (e.g. +05:30) read the raw rows in the range.
  int utc_offset_minutes = 0;
};

struct DailyCost {
  std::string date{};  // YYYY-MM-DD, in the filter's offset
  int64_t message_count = 0;
  int64_t tokens_input = 0;
  int64_t tokens_output = 0;
  NanoUsd cost_nanousd = 0;
};

// The reference design's get_cost_summary shape.
struct CostSummary {
  std::vector<DailyCost> daily{};  // newest first; days without rows are omitted
  NanoUsd total_cost_nanousd = 0;
  int64_t total_messages = 0;
  NanoUsd avg_cost_per_message_nanousd = 0;  // rounded half up; 0 when there are no messages
  Micros from = 0, to = 0;                   // the range used (rollup ranges start on an hour)
  std::string plan{}; // "totals" (hourly), "rollups" (daily, per user), "conversation" or "raw_scan"
};

struct CostGroup {
  std::vector<std::string> keys{};  // one per group_by dimension, in order
  int64_t count = 0;                // messages or API calls
  int64_t errors = 0;               // API calls with status "error"
  int64_t tokens_input = 0, tokens_output = 0, tokens_cached_input = 0, tokens_cache_write = 0,
          tokens_reasoning = 0;
  NanoUsd cost_nanousd = 0;
  int64_t latency_count = 0;
  int64_t latency_sum_us = 0;
};

struct CostGroupResult {
  std::vector<std::string> group_by{};
  std::vector<CostGroup> groups{};  // ordered by keys
  std::string plan{};
};

// Usage per user x model: calls, errors, tokens, cost, average and p50/p95/p99 latency (from a log-bucketed
// histogram: each percentile within 1% of the exact nearest-rank value).
struct UsageStat {
  std::string user_key{};
  std::string model{};
  int64_t calls = 0;
  int64_t errors = 0;
  int64_t tokens_input = 0, tokens_output = 0;
  NanoUsd cost_nanousd = 0;
  int64_t latency_count = 0;
  int64_t avg_latency_us = 0;
  int64_t p50_latency_us = 0, p95_latency_us = 0, p99_latency_us = 0;
};

// Team budget view: month-to-date against teams.monthly_budget, run-rate projections.
struct TeamSpend {
  std::string team_key{};
  std::string month{}; // YYYY-MM (UTC)
  NanoUsd month_to_date_nanousd = 0;
  std::optional<NanoUsd> monthly_budget_nanousd{};
  std::optional<double> budget_used_percent{};
  NanoUsd projected_month_end_nanousd = 0;  // month_to_date / elapsed fraction of the month
  int lookback_days = 30;
  NanoUsd daily_average_nanousd = 0;        // spend over the last lookback_days / lookback_days
  NanoUsd monthly_projection_nanousd = 0;   // daily_average * 30
  NanoUsd annual_projection_nanousd = 0;    // monthly_projection * 12
};

// ---- the cost report ------------------------------------------------------------------------------------
// What `convstore report` draws and `convstore costs` prints, read from one snapshot by the same code as
// GetCostSummary, GroupCosts, GetTeamSpend and GetUsageStats: each number equals what those return for the same
// filter at the same instant.

struct CostReportOptions {
  // The range and the rows reported (as for GetCostSummary), except that without `from` the range is the last
  // `days` whole days in the filter's offset, today included: so the summary's hourly totals and the daily groups
  // count the same rows. A range given with `from` off a midnight is counted by the hour in the summary and by the
  // whole day in the daily groups (they come from the daily rollups).
  CostFilter filter{};
  int top = 10;            // 1..1000: users and teams listed
  int lookback_days = 30;  // 1..366: the teams' run-rate projections (as GetTeamSpend)
};

// Latency per model over the filter's rows: the histograms of GetUsageStats merged over users (each percentile
// within 1% of the exact nearest-rank value).
struct ModelLatency {
  std::string model{};
  int64_t calls = 0;
  int64_t latency_count = 0;  // calls that recorded a latency
  int64_t avg_latency_us = 0;
  int64_t p50_latency_us = 0, p95_latency_us = 0, p99_latency_us = 0;
};

struct CostReport {
  CostSummary summary{};                 // GetCostSummary(filter)
  CostGroupResult daily_by_model{};      // GroupCosts(filter, {"day", "model"})
  std::vector<std::string> models{};     // the models with spend in the range, largest total first
  std::vector<CostGroup> top_users{};    // GroupCosts(filter, {"user"}), largest cost first (then key), at most top
  std::vector<CostGroup> top_teams{};    // the same for {"team"}; key "" is spend of users without a team
  int64_t users_with_spend = 0, teams_with_spend = 0;  // before the cut to `top`
  // GetTeamSpend(team, lookback_days) of every team with a monthly budget or spend this month (UTC, whatever the
  // filter's range), largest month-to-date first (then key).
  std::vector<TeamSpend> team_budgets{};
  std::vector<ModelLatency> latency_by_model{};  // models in name order
  Micros generated_at = 0;
};

// ---- rollup checks and repricing ------------------------------------------------------------------------

struct RollupReport {
  int64_t raw_rows = 0;        // messages + api_usage rows read
  int64_t rollup_rows = 0;     // fine rollup rows expected
  int64_t total_rows = 0;      // scope total rows expected
  int64_t differences = 0;     // rows that differ (0: consistent)
  // Rows whose exact sum passes the 64-bit range (compared exactly, not a difference): their raw rows beyond it
  // stay pending, and summaries covering them report kTooLarge.
  int64_t overflows = 0;
  std::vector<std::string> samples{};  // up to 20 described differences and overflows
  bool repaired = false;
};

struct RepriceReport {
  int64_t messages_repriced = 0;
  int64_t usage_repriced = 0;
  NanoUsd cost_delta_nanousd = 0;  // new total minus old total over the repriced rows
};

// ---- budgets ------------------------------------------------------------------------------------------

// A spending limit on everything, a team or a user, over a calendar period (UTC day, ISO week from Monday,
// month) or a rolling window of whole hours. Spend counts messages and API usage with a cost, plus open
// reservations. Record a call once (on its message or as API usage), or it is counted twice.
struct BudgetInput {
  std::string name{};       // required, unique, 1..kMaxKeyBytes; an existing name is updated
  std::string scope{};      // "global", "team" or "user"
  std::string scope_key{};  // the team or user key; "" for global
  std::string period{};     // "day", "week", "month" or "rolling"
  int64_t window_hours = 0;  // rolling only: 1..8784
  std::optional<NanoUsd> hard_limit_nanousd{};  // reservations beyond it are refused
  std::optional<NanoUsd> soft_limit_nanousd{};  // crossing it raises an alert
};

struct BudgetState {
  BudgetInput budget{};
  Micros window_from = 0, window_to = 0;
  NanoUsd spent_nanousd = 0;
  NanoUsd reserved_nanousd = 0;  // open, unexpired reservations
  std::optional<double> used_fraction{}; // (spent + reserved) / hard limit (or soft when no hard)
  bool over_soft = false;
  bool over_hard = false;
};

struct ReserveRequest {
  std::string request_id{};  // required, 1..kMaxKeyBytes; the same id later settles or releases
  std::string user_key{};    // required; must exist
  NanoUsd estimated_cost_nanousd = 0;  // 0..kMaxCostNanoUsd
  int64_t ttl_us = 600'000'000;        // open reservation lifetime, 1 s .. 7 days; default 10 minutes
};

struct Reservation {
  std::string request_id{};
  std::string user_key{};
  std::string team_key{};
  NanoUsd amount_nanousd = 0;
  std::string state{};  // "open", "settled", "released" or "expired"
  Micros created_at = 0, expires_at = 0;
  std::string usage_id{};  // the API usage recorded by settle
  std::vector<BudgetState> budgets{}; // the budgets checked when it was admitted (empty for a retry)
};

// Passed to Options::on_budget_alert after a committed write moved a budget across a limit.
struct BudgetAlert {
  std::string budget_name{};
  std::string limit{};  // "soft" or "hard"
  NanoUsd spent_nanousd = 0;
  NanoUsd limit_nanousd = 0;
};

// The cost capability of a ConversationStore (a base of it: call these on the store): the price catalog, API usage,
// cost summaries read from the rollups, budgets and reservations. Thread-safe as the store is. Non-virtual and
// without data: entry points added here never change the layout of ConversationStore (docs/architecture.md, ABI).
class CONVSTORE_EXPORT Costs {
 public:
  // ---- prices ----
  // Adds (or replaces, same model/is_pattern/effective_from) a user price. Existing costs do not change until
  // Reprice covers them.
  Result<Price> AddPrice(const PriceInput& price);
  // Every price, catalog and user, ordered by model then effective_from.
  Result<std::vector<Price>> ListPrices();
  // The price in effect for `model` at `at`; kNotFound when none applies.
  Result<Price> ResolvePrice(std::string_view model, Micros at);
  // Recomputes the cost of every message and API-usage row in [from, to) whose cost came from a price (or that has
  // tokens but no cost yet) with the prices now in effect; conversation counters and rollups follow, in one
  // transaction. Explicit costs are never changed.
  Result<RepriceReport> Reprice(Micros from, Micros to);

  // ---- API usage ----
  Result<ApiUsage> RecordApiUsage(const NewApiUsage& usage);

  // ---- cost summaries: read from the rollups, O(days x groups) whatever the number of rows ----
  Result<CostSummary> GetCostSummary(const CostFilter& filter);
  // Group by any of: day, week, month, user, team, model, role, endpoint, status, source (1..4 dimensions).
  Result<CostGroupResult> GroupCosts(const CostFilter& filter, const std::vector<std::string>& group_by);
  // Per user x model; the filter's source defaults apply ("message"); use "api" for API calls.
  Result<std::vector<UsageStat>> GetUsageStats(const CostFilter& filter);
  // Month-to-date spend (all sources) of a team against its monthly budget, with projections. lookback_days 1..366.
  Result<TeamSpend> GetTeamSpend(std::string_view team_key, int lookback_days);
  // Everything a cost report shows, from one snapshot (above). kInvalidArgument for a bad filter, top or lookback.
  Result<CostReport> GetCostReport(const CostReportOptions& options);
  // Recomputes the rollups from the raw rows and reports differences (read-only; O(rows)).
  Result<RollupReport> VerifyRollups();
  // Recomputes the rollups from the raw rows and replaces them, in one transaction.
  Result<RollupReport> RebuildRollups();

  // ---- budgets ----
  // Creates or updates (by name) a budget.
  Result<BudgetState> SetBudget(const BudgetInput& budget);
  Status DeleteBudget(std::string_view name);
  // Every budget whose used fraction is >= min_used_fraction (0: all), with its current window's spend: the
  // alerts query ("which scopes are over 80%?").
  Result<std::vector<BudgetState>> GetBudgets(double min_used_fraction);
  // Admits or refuses (kBudgetExceeded, nothing written) a call estimated at estimated_cost, atomically against
  // spend plus open reservations of every hard budget covering the user, the user's team, or everything. A retry
  // with the same request_id returns the first reservation while it is open (or settled); a released or expired
  // one is kConflict (reserve again with a new id), and so is an id already used by another user or by recorded
  // API usage.
  Result<Reservation> Reserve(const ReserveRequest& request);
  // Records the call's actual usage (as API usage with request_id = the reservation's) and closes the reservation.
  // user_key may be left empty (the reservation's user). A retry returns the same usage record.
  Result<ApiUsage> Settle(std::string_view request_id, const NewApiUsage& usage);
  // Closes an open reservation without usage (the call was not made). Idempotent.
  Result<Reservation> Release(std::string_view request_id);

 protected:
  Costs() = default;
  ~Costs() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_COST_H_
