#include "cost/price_lookup.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "convstore/limits.h"
#include "util/validate.h"
#include "util/int128.h"
#include "util/money.h"
#include "util/time.h"

namespace convstore::cost {

extern const char* const kBuiltinPriceCatalog;  // generated from data/prices.json

namespace {

util::Int128 Term(const std::optional<int64_t>& tokens, NanoUsd rate) {
  return tokens ? static_cast<util::Int128>(*tokens) * rate : 0;
}

}  // namespace

std::optional<NanoUsd> ComputeCost(const TokenUse& t, const Price& p) {
  util::Int128 sum = Term(t.input, p.input_per_mtok) + Term(t.output, p.output_per_mtok) +
                 Term(t.cached_input, p.cached_input_per_mtok.value_or(p.input_per_mtok)) +
                 Term(t.cache_write, p.cache_write_per_mtok.value_or(p.input_per_mtok)) +
                 Term(t.reasoning, p.reasoning_per_mtok.value_or(p.output_per_mtok));
  util::Int128 cost = (sum + 500'000) / 1'000'000;  // all terms are >= 0: round half up
  if (cost > limits::kMaxCostNanoUsd) return std::nullopt;
  return static_cast<NanoUsd>(cost);
}

void ReadPrice(const sqlite::Stmt& st, int c, Price& out) {
  out.id = st.Int(c);
  out.model = st.String(c + 1);
  out.is_pattern = st.Int(c + 2) != 0;
  out.effective_from = st.Int(c + 3);
  out.origin = st.String(c + 4);
  out.input_per_mtok = st.Int(c + 5);
  out.output_per_mtok = st.Int(c + 6);
  out.cached_input_per_mtok = st.OptInt(c + 7);
  out.cache_write_per_mtok = st.OptInt(c + 8);
  out.reasoning_per_mtok = st.OptInt(c + 9);
  out.source_date = st.String(c + 10);
  out.note = st.String(c + 11);
}

Result<std::optional<Price>> ResolvePrice(sqlite::Connection& conn, std::string_view model, Micros at) {
  auto exact = conn.Prepare("SELECT " CONVSTORE_PRICE_COLUMNS
                            " FROM prices p WHERE p.model = ?1 AND p.is_pattern = 0 AND p.effective_from <= ?2"
                            " ORDER BY p.origin = 'user' DESC, p.effective_from DESC LIMIT 1");
  if (!exact.ok()) return exact.status();
  exact->Bind(1, model).Bind(2, at);
  auto row = exact->Step("resolve price");
  if (!row.ok()) return row.status();
  if (*row) {
    Price p;
    ReadPrice(*exact, 0, p);
    return std::optional<Price>(std::move(p));
  }
  auto pattern = conn.Prepare("SELECT " CONVSTORE_PRICE_COLUMNS
                              " FROM prices p WHERE p.is_pattern = 1 AND p.effective_from <= ?2 AND ?1 GLOB p.model"
                              " ORDER BY length(p.model) DESC, p.origin = 'user' DESC, p.effective_from DESC LIMIT 1");
  if (!pattern.ok()) return pattern.status();
  pattern->Bind(1, model).Bind(2, at);
  row = pattern->Step("resolve price pattern");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Price>();
  Price p;
  ReadPrice(*pattern, 0, p);
  return std::optional<Price>(std::move(p));
}

Result<PricedCost> PriceRow(sqlite::Connection& conn, std::string_view model, Micros at, const TokenUse& tokens,
                            const std::optional<NanoUsd>& explicit_cost) {
  if (explicit_cost) return PricedCost{explicit_cost, std::nullopt};
  if (!tokens.any() || model.empty()) return PricedCost{};
  auto price = ResolvePrice(conn, model, at);
  if (!price.ok()) return price.status();
  if (!*price) return PricedCost{};
  auto cost = ComputeCost(tokens, **price);
  if (!cost)
    return Status::TooLarge(fmt::format("the cost of these tokens at the price of '{}' exceeds the per-row limit",
                                        model));
  return PricedCost{cost, (*price)->id};
}

namespace {

// Whether the file already holds catalog `version` or a newer one. Versions are "YYYY-MM-DD.n": an older library
// never downgrades a newer catalog loaded by a newer one.
Result<bool> HoldsCatalog(sqlite::Connection& conn, const std::string& version) {
  auto have = conn.QueryRow("SELECT value FROM meta WHERE key = 'price_catalog_version'", "read catalog version",
                            [](const sqlite::Stmt& st) { return st.String(0); });
  if (!have.ok()) return have.status();
  return have->has_value() && **have >= version;
}

std::optional<NanoUsd> OptPrice(const nlohmann::json& entry, const char* key) {
  if (!entry.contains(key)) return std::nullopt;
  auto v = util::ParseUsd(entry.at(key).get<std::string>());
  if (!v) throw std::runtime_error(fmt::format("price catalog: bad {} price", key));
  return v;
}

}  // namespace

Status RefreshBuiltinCatalog(sqlite::Connection& conn, Micros now) {
  auto holds = HoldsCatalog(conn, BuiltinCatalogVersion());
  if (!holds.ok()) return holds.status();
  if (*holds) return Status::OK();
  auto txn = sqlite::WriteTransaction::Begin(conn);
  if (!txn.ok()) return txn.status();
  CONVSTORE_RETURN_IF_ERROR(SyncBuiltinCatalog(conn, now));
  return txn->Commit();
}

std::string BuiltinCatalogVersion() {
  // Parsed once: every open compares it with the file's (a failed first parse, out of memory, is retried).
  static const std::string version = nlohmann::json::parse(kBuiltinPriceCatalog).at("version").get<std::string>();
  return version;
}

Status SyncBuiltinCatalog(sqlite::Connection& conn, Micros now) {
  auto holds = HoldsCatalog(conn, BuiltinCatalogVersion());
  if (!holds.ok()) return holds.status();
  if (*holds) return Status::OK();
  auto catalog = nlohmann::json::parse(kBuiltinPriceCatalog);  // only when the file needs it

  auto ins = conn.Prepare(CONVSTORE_PRICE_UPSERT("catalog"));
  if (!ins.ok()) return ins.status();
  for (const auto& e : catalog.at("prices")) {
    std::string model = e.at("model").get<std::string>();
    std::string from_text = e.at("effective_from").get<std::string>() + "T00:00:00Z";
    auto from = util::ParseIso8601(from_text);
    auto input = OptPrice(e, "input");
    auto output = OptPrice(e, "output");
    if (!from || !input || !output) return Status::Internal("price catalog: bad entry for " + model);
    std::string source_date = e.value("source_date", "");
    std::string note = e.value("note", "");
    ins->Bind(1, model).Bind(2, int64_t{e.value("pattern", false) ? 1 : 0}).Bind(3, *from);
    ins->Bind(4, *input).Bind(5, *output).Bind(6, OptPrice(e, "cached_input"));
    ins->Bind(7, OptPrice(e, "cache_write")).Bind(8, OptPrice(e, "reasoning"));
    ins->Bind(9, source_date).Bind(10, note).Bind(11, now);
    CONVSTORE_RETURN_IF_ERROR(ins->Run("load price catalog"));
  }
  return conn.Run("INSERT OR REPLACE INTO meta(key, value) VALUES ('price_catalog_version', ?1)",
                  "record catalog version", BuiltinCatalogVersion());
}

}  // namespace convstore::cost
