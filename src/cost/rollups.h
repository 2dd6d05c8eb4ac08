// Rollups: hourly aggregates of every costed row (messages and API usage), kept in step with the rows they count
// (what they do not count yet is pending: cost/pending.h).
//
//   cost_rollups  one row per (UTC day, user, team, model, source, role, endpoint, status) with counts, tokens
//                 by kind, cost, latency sum and a latency histogram (user-level queries read these);
//   cost_totals   one row per (UTC day, scope, scope id, source, hour) for scope everything / team — what
//                 summaries and budget checks of everything or a team read, O(days) rows whatever the size.
//
// Writers build a RollupDelta from the rows they insert (+1), delete (-1) or reprice (-old, +new) and apply it
// once per transaction (new rows are folded in from pending, cost/pending.h). VerifyRollups / RebuildRollups recompute both tables from the raw rows.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <vector>
#include <optional>
#include <string>
#include <tuple>

#include "convstore/cost.h"
#include "cost/histogram.h"
#include "sqlite/connection.h"

namespace convstore::cost {

inline constexpr int64_t kMicrosPerHour = 3'600'000'000;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

enum Source : int { kSourceMessage = 0, kSourceApi = 1 };
// Budget / query scopes. cost_totals holds kScopeAll and kScopeTeam; a user's spend comes from cost_rollups.
enum Scope : int { kScopeAll = 0, kScopeTeam = 1, kScopeUser = 2 };

int64_t FloorDiv(int64_t a, int64_t b);

// One raw row as the rollups see it.
struct CostRow {
  Micros at = 0;
  int64_t user_id = 0;
  int64_t team_id = 0;  // 0: no team
  std::string model;
  int source = kSourceMessage;
  std::string role;      // messages
  std::string endpoint;  // API usage
  std::string status;    // API usage: "success" / "error"; messages: ""
  int64_t tokens[5] = {0, 0, 0, 0, 0};  // input, output, cached_input, cache_write, reasoning
  NanoUsd cost = 0;
  std::optional<int64_t> latency_us;
  // Rows that are equal count alike: one stands for another in the rollups and among the pending rows.
  bool operator==(const CostRow& o) const = default;
};

struct FineKey {
  int64_t day, user_id, team_id;
  std::string model;
  int source;
  std::string role, endpoint, status;
  auto tie() const { return std::tie(day, user_id, team_id, model, source, role, endpoint, status); }
  bool operator<(const FineKey& o) const { return tie() < o.tie(); }
  bool operator==(const FineKey& o) const { return tie() == o.tie(); }
};

// acc += v; false (acc unchanged) when the sum leaves the int64 range.
inline bool AddInto(int64_t& acc, int64_t v) {
  int64_t sum;
  if (__builtin_add_overflow(acc, v, &sum)) return false;
  acc = sum;
  return true;
}

struct Measures {
  bool overflow = false;  // a sum left the int64 range (callers report kTooLarge)
  int64_t count = 0, errors = 0;
  int64_t tokens[5] = {0, 0, 0, 0, 0};
  NanoUsd cost = 0;
  int64_t latency_count = 0, latency_sum = 0;
  LatencyHistogram hist;

  void Add(const CostRow& row, int sign);
  void Merge(const Measures& other);
  bool zero() const;
  bool operator==(const Measures& o) const;
};

struct TotalKey {
  int64_t day;
  int scope;
  int64_t scope_id;
  int source;
  int hour;
  auto tie() const { return std::tie(day, scope, scope_id, source, hour); }
  bool operator<(const TotalKey& o) const { return tie() < o.tie(); }
};

// The rollup keys a row counts under: its fine key, the everything total and (with a team) its team's total.
FineKey FineKeyOf(const CostRow& row);
int TotalKeysOf(const CostRow& row, TotalKey keys[2]);  // returns 1 or 2

// Changes to apply to the rollups, by key. M is Measures (int64 sums with an overflow flag) or, for exact
// verification, WideMeasures (rollup_check.h).
template <typename M>
struct BasicDelta {
  std::map<FineKey, M> fine;
  std::map<TotalKey, M> totals;  // histogram unused

  void Add(const CostRow& row, int sign) {
    fine[FineKeyOf(row)].Add(row, sign);
    CostRow no_latency = row;
    no_latency.latency_us.reset();
    TotalKey keys[2];
    for (int i = 0, n = TotalKeysOf(row, keys); i < n; ++i) totals[keys[i]].Add(no_latency, sign);
  }
  bool empty() const { return fine.empty() && totals.empty(); }
};
using RollupDelta = BasicDelta<Measures>;

// Benchmark-only switch (not exported from the shared library): with false, ApplyDelta does nothing, so
// bench/cost_bench.cc can measure what rollup upkeep adds to a write. Never used by the library itself.
void SetRollupsEnabledForBenchmark(bool enabled);
bool RollupsEnabled();

// Reads count, errors, the five token sums and cost from 8 consecutive columns starting at `first` (the
// layout of cost_rollups and cost_totals rows).
void ReadMeasures(const sqlite::Stmt& st, int first, Measures& m);

// What every stored rollup or total row satisfies (writers keep it so, see RemoveCostRows): it counts at least
// one row, and no sum is negative or larger than the count allows. Readers refuse (kCorruption) a row that
// does not: no summary or budget decision rests on one.
bool Plausible(const Measures& m);
Status CheckStoredRow(const Measures& m, const char* table, Micros day);

// The SET list of an upsert adding a row's measures (with latencies) to a stored row of cost_rollups' columns, and
// the check, for RETURNING, that no sum was turned into a REAL by overflowing (SQLite does that instead of failing).
#define CONVSTORE_MEASURES_ADD_EXCLUDED                                                                              \
  " count = count + excluded.count, errors = errors + excluded.errors,"                                             \
  " tokens_input = tokens_input + excluded.tokens_input, tokens_output = tokens_output + excluded.tokens_output,"    \
  " tokens_cached_input = tokens_cached_input + excluded.tokens_cached_input,"                                      \
  " tokens_cache_write = tokens_cache_write + excluded.tokens_cache_write,"                                         \
  " tokens_reasoning = tokens_reasoning + excluded.tokens_reasoning,"                                               \
  " cost_nanousd = cost_nanousd + excluded.cost_nanousd, latency_count = latency_count + excluded.latency_count,"   \
  " latency_sum_us = latency_sum_us + excluded.latency_sum_us,"                                                     \
  " latency_hist = CASE WHEN excluded.latency_hist IS NULL THEN latency_hist"                                       \
  " ELSE convstore_hist_merge(latency_hist, excluded.latency_hist) END"
#define CONVSTORE_MEASURES_STILL_INTEGER                                                                             \
  " typeof(count) || typeof(cost_nanousd) || typeof(tokens_input) || typeof(tokens_output) ||"                      \
  " typeof(tokens_cached_input) || typeof(tokens_cache_write) || typeof(tokens_reasoning) ||"                       \
  " typeof(latency_sum_us) = 'integerintegerintegerintegerintegerintegerintegerinteger'"

// Applies the delta to cost_rollups and cost_totals (rows that fall to zero are removed).
Status ApplyDelta(sqlite::Connection& conn, const RollupDelta& delta);

// The messages of one conversation, stored and deleted (tombstones), as CostRows (for a conversation delete).
Status ConversationCostRows(sqlite::Connection& conn, int64_t conversation_row, std::vector<CostRow>& rows);

}  // namespace convstore::cost
