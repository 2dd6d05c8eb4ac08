// The price catalog as callers change it: add a price, list them, and reprice stored rows after a correction
// (their costs, their conversations' totals and the rollups, in the caller's write transaction).
#pragma once
#include <vector>

#include "convstore/cost.h"
#include "sqlite/connection.h"

namespace convstore::cost {

Status ValidatePrice(const PriceInput& price);
// Adds the price (origin "user"), replacing one with the same model, pattern flag and effective_from.
Result<Price> AddPrice(sqlite::Connection& conn, const PriceInput& price, Micros now);
// Every price, by model, pattern flag, effective_from and origin.
Result<std::vector<Price>> ListPrices(sqlite::Connection& conn);
// Prices again the messages and API usage recorded in [from, to) that were priced from the catalog (or could be
// now), and moves every total that counts them by the difference.
Result<RepriceReport> Reprice(sqlite::Connection& conn, Micros from, Micros to);

}  // namespace convstore::cost
