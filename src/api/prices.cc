// The price catalog: add, list, resolve, and reprice rows after a price correction.
#include <fmt/format.h>

#include "api/store_impl.h"
#include "convstore/limits.h"
#include "cost/price_lookup.h"
#include "cost/prices.h"

namespace convstore::api {

Result<Price> StoreImpl::DoAddPrice(const PriceInput& price) {
  CONVSTORE_RETURN_IF_ERROR(cost::ValidatePrice(price));
  int64_t now = Now();
  return Write("add_price", [&](sqlite::Connection& conn) { return cost::AddPrice(conn, price, now); });
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
  return Write("reprice", [&](sqlite::Connection& conn) { return cost::Reprice(conn, from, to); });
}

}  // namespace convstore::api
