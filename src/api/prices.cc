// The price catalog: add, list, resolve, and reprice rows after a price correction.
#include <fmt/format.h>

#include "api/store_impl.h"
#include "convstore/limits.h"
#include "cost/price_lookup.h"
#include "cost/prices.h"
#include "util/json_writer.h"
#include "util/time.h"

namespace convstore::api {

Result<Price> StoreImpl::DoAddPrice(const PriceInput& price) {
  CONVSTORE_RETURN_IF_ERROR(cost::ValidatePrice(price));
  int64_t now = Now();
  const AuditActor who = CurrentAuditActor();
  return Write("add_price", [&](sqlite::Connection& conn) -> Result<Price> {
    auto added = cost::AddPrice(conn, price, now);
    if (!added.ok()) return added;
    util::JsonWriter w;
    w.BeginObject().Key("model").String(added->model).Key("is_pattern").Bool(added->is_pattern)
        .Key("effective_from").String(util::FormatIso8601(added->effective_from))
        .Key("input_per_mtok_nanousd").Int(added->input_per_mtok).Key("output_per_mtok_nanousd")
        .Int(added->output_per_mtok);
    if (added->cached_input_per_mtok) w.Key("cached_input_per_mtok_nanousd").Int(*added->cached_input_per_mtok);
    if (added->cache_write_per_mtok) w.Key("cache_write_per_mtok_nanousd").Int(*added->cache_write_per_mtok);
    if (added->reasoning_per_mtok) w.Key("reasoning_per_mtok_nanousd").Int(*added->reasoning_per_mtok);
    w.EndObject();
    CONVSTORE_RETURN_IF_ERROR(
        Audited(conn, who, {"price.added", "price", std::to_string(added->id), std::nullopt, w.Take()}));
    return added;
  });
}

Result<std::vector<Price>> StoreImpl::DoListPrices() {
  return Read("list_prices", [&](sqlite::Connection& conn) { return cost::ListPrices(conn); });
}

Result<Price> StoreImpl::DoResolvePrice(std::string_view model, Micros at) {
  if (model.empty()) return Status::InvalidArgument("model is empty");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(model, "model", limits::kMaxNameBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(at, "at"));
  return Read("resolve_price", [&](sqlite::Connection& conn) -> Result<Price> {
    auto price = cost::ResolvePrice(conn, model, at);
    if (!price.ok()) return price.status();
    if (!*price) return Status::NotFound(fmt::format("no price for model '{}' at that time", model));
    return std::move(**price);
  });
}

Result<RepriceReport> StoreImpl::DoReprice(Micros from, Micros to) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(from, "from"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(to, "to"));
  if (from >= to) return Status::InvalidArgument("from must be before to");
  const AuditActor who = CurrentAuditActor();
  return Write("reprice", [&](sqlite::Connection& conn) -> Result<RepriceReport> {
    auto report = cost::Reprice(conn, from, to);
    if (!report.ok()) return report;
    util::JsonWriter w;
    w.BeginObject().Key("from").String(util::FormatIso8601(from)).Key("to").String(util::FormatIso8601(to))
        .Key("messages_repriced").Int(report->messages_repriced).Key("usage_repriced").Int(report->usage_repriced)
        .Key("cost_delta_nanousd").Int(report->cost_delta_nanousd).EndObject();
    CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, {"prices.repriced", "price", "", std::nullopt, w.Take()}));
    return report;
  });
}

}  // namespace convstore::api
