// Price catalog: resolving the price of a model at a time, computing exact costs, and loading the catalog that
// ships with the library (data/prices.json, compiled in) into a store.
#pragma once
#include <optional>
#include <string_view>

#include "convstore/cost.h"
#include "sqlite/connection.h"

// 13 columns; alias p.
#define CONVSTORE_PRICE_COLUMNS                                                                                  \
  "p.id, p.model, p.is_pattern, p.effective_from, p.origin, p.input_nanousd_per_mtok, p.output_nanousd_per_mtok, " \
  "p.cached_input_nanousd_per_mtok, p.cache_write_nanousd_per_mtok, p.reasoning_nanousd_per_mtok, p.source_date, " \
  "p.note, p.created_at"

namespace convstore::cost {

// Inserts a price of the given origin ('catalog' or 'user', a string literal), or updates the one with the same
// model, pattern flag, origin and start. Parameters: ?1 model, ?2 is_pattern, ?3 effective_from, ?4..?8 the rates
// per million tokens (input, output, cached input, cache write, reasoning), ?9 source_date, ?10 note, ?11 created_at.
#define CONVSTORE_PRICE_UPSERT(origin)                                                                            \
  "INSERT INTO prices(model, is_pattern, effective_from, origin, input_nanousd_per_mtok, output_nanousd_per_mtok,"  \
  " cached_input_nanousd_per_mtok, cache_write_nanousd_per_mtok, reasoning_nanousd_per_mtok, source_date, note,"   \
  " created_at) VALUES (?1, ?2, ?3, '" origin "', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"                              \
  " ON CONFLICT (model, is_pattern, origin, effective_from) DO UPDATE SET"                                        \
  " input_nanousd_per_mtok = excluded.input_nanousd_per_mtok,"                                                    \
  " output_nanousd_per_mtok = excluded.output_nanousd_per_mtok,"                                                  \
  " cached_input_nanousd_per_mtok = excluded.cached_input_nanousd_per_mtok,"                                      \
  " cache_write_nanousd_per_mtok = excluded.cache_write_nanousd_per_mtok,"                                        \
  " reasoning_nanousd_per_mtok = excluded.reasoning_nanousd_per_mtok,"                                            \
  " source_date = excluded.source_date, note = excluded.note"

// Largest price accepted: $1,000,000 per million tokens.
inline constexpr NanoUsd kMaxPriceNanoUsdPerMtok = 1'000'000'000'000'000;

// A row's token counts as given (unset is not 0 for pricing: see ComputeCost), in the one order of TokenCounts
// (convstore/types.h): input, output, cached input, cache write, reasoning.
struct TokenUse {
  std::optional<int64_t> input, output, cached_input, cache_write, reasoning;
  bool any() const { return input || output || cached_input || cache_write || reasoning; }
  // As counted by the rollups (unset: 0), in CostRow::tokens order.
  void CopyCounts(int64_t (&out)[5]) const {
    out[0] = input.value_or(0);
    out[1] = output.value_or(0);
    out[2] = cached_input.value_or(0);
    out[3] = cache_write.value_or(0);
    out[4] = reasoning.value_or(0);
  }
};

// The token counts of any record with tokens_* fields (NewMessage, NewApiUsage, Message, ApiUsage).
template <typename Record>
TokenUse TokensOf(const Record& r) {
  return {r.tokens_input, r.tokens_output, r.tokens_cached_input, r.tokens_cache_write, r.tokens_reasoning};
}

// round_half_up(sum(tokens_k * rate_k) / 1e6); nullopt when the cost would exceed limits::kMaxCostNanoUsd.
std::optional<NanoUsd> ComputeCost(const TokenUse& tokens, const Price& price);

void ReadPrice(const sqlite::Stmt& st, int first, Price& out);

// The price in effect for `model` at `at` (resolution order in convstore/cost.h), or nullopt.
Result<std::optional<Price>> ResolvePrice(sqlite::Connection& conn, std::string_view model, Micros at);

// The cost of a row: an explicit cost wins (price_id unset); otherwise, when the row has tokens and a model with a
// price, the computed cost and that price's id; otherwise nothing.
struct PricedCost {
  std::optional<NanoUsd> cost;
  std::optional<int64_t> price_id;
};
Result<PricedCost> PriceRow(sqlite::Connection& conn, std::string_view model, Micros at, const TokenUse& tokens,
                            const std::optional<NanoUsd>& explicit_cost);

// Loads the compiled-in catalog into the prices table (origin 'catalog') unless the file already holds this
// catalog version. Runs inside the caller's write transaction.
Status SyncBuiltinCatalog(sqlite::Connection& conn, Micros now);
// Opens its own write transaction for SyncBuiltinCatalog when (read first) the file holds another version.
Status RefreshBuiltinCatalog(sqlite::Connection& conn, Micros now);
// The compiled-in catalog's version string.
std::string BuiltinCatalogVersion();

}  // namespace convstore::cost
