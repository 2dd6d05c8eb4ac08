#include "cost/prices.h"

#include <fmt/format.h>

#include <map>

#include "convstore/limits.h"
#include "cost/cost_rows.h"
#include "cost/price_lookup.h"
#include "cost/pending.h"
#include "cost/rollups.h"
#include "util/validate.h"

namespace convstore::cost {

namespace {

constexpr size_t kMaxSourceDateBytes = 64;

}  // namespace

Status ValidatePrice(const PriceInput& p) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(p.model, "model", limits::kMaxNameBytes));
  if (p.model.empty()) return Status::InvalidArgument("model is empty");
  // 0, the default, means "in effect from the beginning"; any other value is a timestamp.
  if (p.effective_from != 0) CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(p.effective_from, "effective_from"));
  const int64_t hi = kMaxPriceNanoUsdPerMtok;
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(p.input_per_mtok, 0, hi, "input price per million tokens (nano-USD)"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(p.output_per_mtok, 0, hi, "output price per million tokens (nano-USD)"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(p.cached_input_per_mtok, 0, hi, "cached_input price per million tokens"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(p.cache_write_per_mtok, 0, hi, "cache_write price per million tokens"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(p.reasoning_per_mtok, 0, hi, "reasoning price per million tokens"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(p.source_date, "source_date", kMaxSourceDateBytes));
  return util::CheckText(p.note, "note", limits::kMaxNameBytes);
}

namespace {

// A row whose cost may change on repricing.
struct RepriceRow {
  int64_t row_id = 0;
  int64_t conversation_row = 0;
  CostRow cost_row;
  TokenUse tokens;
  std::optional<NanoUsd> old_cost;
  std::optional<int64_t> old_price;
};

TokenUse TokensAt(const sqlite::Stmt& st, int c) {
  return {st.OptInt(c), st.OptInt(c + 1), st.OptInt(c + 2), st.OptInt(c + 3), st.OptInt(c + 4)};
}

}  // namespace

Result<Price> AddPrice(sqlite::Connection& conn, const PriceInput& price, Micros now) {
  auto st = conn.Prepare(CONVSTORE_PRICE_UPSERT("user") " RETURNING id");
  if (!st.ok()) return st.status();
  st->Bind(1, price.model).Bind(2, int64_t{price.is_pattern ? 1 : 0}).Bind(3, price.effective_from);
  st->Bind(4, price.input_per_mtok).Bind(5, price.output_per_mtok).Bind(6, price.cached_input_per_mtok);
  st->Bind(7, price.cache_write_per_mtok).Bind(8, price.reasoning_per_mtok).Bind(9, price.source_date);
  st->Bind(10, price.note).Bind(11, now);
  auto row = st->Step("add price");
  if (!row.ok()) return row.status();
  Price out;
  out.id = st->Int(0);
  CONVSTORE_RETURN_IF_ERROR(st->Run("add price"));
  out.model = price.model;
  out.is_pattern = price.is_pattern;
  out.effective_from = price.effective_from;
  out.origin = "user";
  out.input_per_mtok = price.input_per_mtok;
  out.output_per_mtok = price.output_per_mtok;
  out.cached_input_per_mtok = price.cached_input_per_mtok;
  out.cache_write_per_mtok = price.cache_write_per_mtok;
  out.reasoning_per_mtok = price.reasoning_per_mtok;
  out.source_date = price.source_date;
  out.note = price.note;
  return out;
}

Result<std::vector<Price>> ListPrices(sqlite::Connection& conn) {
  auto st = conn.Prepare("SELECT " CONVSTORE_PRICE_COLUMNS
                         " FROM prices p ORDER BY p.model, p.is_pattern, p.effective_from, p.origin");
  if (!st.ok()) return st.status();
  std::vector<Price> out;
  for (;;) {
    auto row = st->Step("list prices");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    ReadPrice(*st, 0, out.emplace_back());
  }
}

Result<RepriceReport> Reprice(sqlite::Connection& conn, Micros from, Micros to) {
  RepriceReport report;
  // A pending message is counted as it is stored: fold before its cost changes, so the old cost is what the
  // rollups take out below.
  CONVSTORE_RETURN_IF_ERROR(FoldPendingMessages(conn));
  RollupDelta delta;
  std::vector<CostRow> removed;  // the rows as counted before repricing
  std::map<int64_t, NanoUsd> conversation_delta;
  // Messages: a full scan (repricing is maintenance, not a hot path).
  std::vector<RepriceRow> rows;
  {
    auto st = conn.Prepare(
        "SELECT m.id, m.conversation_id, m.tokens_input, m.tokens_output, m.tokens_cached_input,"
        " m.tokens_cache_write, m.tokens_reasoning, m.cost_nanousd, m.price_id, " CONVSTORE_MESSAGE_COST_COLUMNS
        " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE m.created_at >= ?1 AND m.created_at < ?2 AND (m.price_id IS NOT NULL OR (m.cost_nanousd IS NULL"
        " AND coalesce(m.tokens_input, m.tokens_output, m.tokens_cached_input, m.tokens_cache_write,"
        " m.tokens_reasoning) IS NOT NULL))");
    if (!st.ok()) return st.status();
    st->Bind(1, from).Bind(2, to);
    for (;;) {
      auto row = st->Step("scan messages to reprice");
      if (!row.ok()) return row.status();
      if (!*row) break;
      RepriceRow& r = rows.emplace_back();
      r.row_id = st->Int(0);
      r.conversation_row = st->Int(1);
      r.tokens = TokensAt(*st, 2);
      r.old_cost = st->OptInt(7);
      r.old_price = st->OptInt(8);
      ReadMessageCostRow(*st, 9, r.cost_row);
    }
  }
  auto upd = conn.Prepare("UPDATE messages SET cost_nanousd = ?2, price_id = ?3 WHERE id = ?1");
  if (!upd.ok()) return upd.status();
  for (RepriceRow& r : rows) {
    auto priced = PriceRow(conn, r.cost_row.model, r.cost_row.at, r.tokens, std::nullopt);
    if (!priced.ok()) return priced.status();
    if (priced->cost == r.old_cost && priced->price_id == r.old_price) continue;
    upd->Bind(1, r.row_id).Bind(2, priced->cost).Bind(3, priced->price_id);
    CONVSTORE_RETURN_IF_ERROR(upd->Run("reprice message"));
    removed.push_back(r.cost_row);
    r.cost_row.cost = priced->cost.value_or(0);
    delta.Add(r.cost_row, +1);
    NanoUsd change = priced->cost.value_or(0) - r.old_cost.value_or(0);
    conversation_delta[r.conversation_row] += change;
    report.cost_delta_nanousd += change;
    ++report.messages_repriced;
  }
  auto conv = conn.Prepare("UPDATE conversations SET cost_nanousd = cost_nanousd + ?2 WHERE id = ?1");
  if (!conv.ok()) return conv.status();
  for (const auto& [row_id, change] : conversation_delta) {
    if (change == 0) continue;
    conv->Bind(1, row_id).Bind(2, change);
    CONVSTORE_RETURN_IF_ERROR(conv->Run("update conversation cost"));
  }

  rows.clear();
  {
    auto st = conn.Prepare(
        "SELECT a.id, a.tokens_input, a.tokens_output, a.tokens_cached_input, a.tokens_cache_write,"
        " a.tokens_reasoning, a.cost_nanousd, a.price_id, " CONVSTORE_USAGE_COST_COLUMNS
        " FROM api_usage a WHERE a.recorded_at >= ?1 AND a.recorded_at < ?2 AND (a.price_id IS NOT NULL OR"
        " (a.cost_nanousd IS NULL AND coalesce(a.tokens_input, a.tokens_output, a.tokens_cached_input,"
        " a.tokens_cache_write, a.tokens_reasoning) IS NOT NULL))");
    if (!st.ok()) return st.status();
    st->Bind(1, from).Bind(2, to);
    for (;;) {
      auto row = st->Step("scan api usage to reprice");
      if (!row.ok()) return row.status();
      if (!*row) break;
      RepriceRow& r = rows.emplace_back();
      r.row_id = st->Int(0);
      r.tokens = TokensAt(*st, 1);
      r.old_cost = st->OptInt(6);
      r.old_price = st->OptInt(7);
      ReadUsageCostRow(*st, 8, r.cost_row);
    }
  }
  auto upd_usage = conn.Prepare("UPDATE api_usage SET cost_nanousd = ?2, price_id = ?3 WHERE id = ?1");
  if (!upd_usage.ok()) return upd_usage.status();
  for (RepriceRow& r : rows) {
    auto priced = PriceRow(conn, r.cost_row.model, r.cost_row.at, r.tokens, std::nullopt);
    if (!priced.ok()) return priced.status();
    if (priced->cost == r.old_cost && priced->price_id == r.old_price) continue;
    upd_usage->Bind(1, r.row_id).Bind(2, priced->cost).Bind(3, priced->price_id);
    CONVSTORE_RETURN_IF_ERROR(upd_usage->Run("reprice api usage"));
    removed.push_back(r.cost_row);
    r.cost_row.cost = priced->cost.value_or(0);
    delta.Add(r.cost_row, +1);
    report.cost_delta_nanousd += priced->cost.value_or(0) - r.old_cost.value_or(0);
    ++report.usage_repriced;
  }
  CONVSTORE_RETURN_IF_ERROR(RemoveCostRows(conn, removed, delta));
  CONVSTORE_RETURN_IF_ERROR(ApplyDelta(conn, delta));
  CONVSTORE_RETURN_IF_ERROR(FoldIfDue(conn));
  return report;
}

}  // namespace convstore::cost
