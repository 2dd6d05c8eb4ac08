// API usage: calls recorded without a message.
#include <fmt/format.h>

#include "api/store_impl.h"
#include "api/usage_write.h"
#include "cost/price_lookup.h"
#include "cost/pending.h"
#include "cost/rollups.h"
#include "metadata/index.h"
#include "util/uuid.h"

namespace convstore::api {

Result<ApiUsage> RecordUsage(sqlite::Connection& conn, const records::ValidUsage& v, std::string_view user_key,
                             std::string_view request_id, Micros now, cost::SpendNote& spent) {
  const NewApiUsage& u = *v.in;
  spent = cost::SpendNote{};
  if (!request_id.empty()) {
    auto existing = records::FindApiUsage(conn, "", request_id);
    if (!existing.ok()) return existing.status();
    if (*existing) {
      if ((*existing)->user_key != user_key)
        return Status::Conflict(
            fmt::format("request_id '{}' was already used for API usage of another user", request_id));
      return std::move(**existing);  // a retry: count nothing twice
    }
  }
  auto owner = records::ResolveUsageOwner(conn, u, user_key, now);
  if (!owner.ok()) return owner.status();
  const cost::TokenUse use = cost::TokensOf(u);
  auto priced = cost::PriceRow(conn, u.model, v.recorded_at, use, v.cost);
  if (!priced.ok()) return priced.status();
  const std::string uid = util::NewUuidV7(v.recorded_at);
  auto row_id = records::InsertApiUsageRow(conn, v, *owner, uid, request_id, priced->cost, priced->price_id);
  if (!row_id.ok()) return row_id.status();
  CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kApiUsage, {*row_id}));

  cost::CostRow row;
  row.at = v.recorded_at;
  row.user_id = owner->user_id;
  row.team_id = owner->team_id;
  row.model = u.model;
  row.source = cost::kSourceApi;
  row.endpoint = u.endpoint;
  row.status = u.status;
  use.CopyCounts(row.tokens);
  row.cost = priced->cost.value_or(0);
  row.latency_us = u.latency_us;
  CONVSTORE_RETURN_IF_ERROR(cost::RecordCostRows(conn, {row}));
  spent = cost::SpendNote{owner->user_id, owner->team_id, {{row.at, row.cost}}};

  auto stored = records::ApiUsageByRowId(conn, *row_id);
  if (!stored.ok()) return stored.status();
  if (!*stored) return Status::Internal("api usage row vanished after insert");
  return std::move(**stored);
}

Result<ApiUsage> StoreImpl::DoRecordApiUsage(const NewApiUsage& usage) {
  records::ValidUsage valid;
  const int64_t now = Now();
  CONVSTORE_RETURN_IF_ERROR(records::ValidateUsage(usage, now, true, valid));
  return WriteAlerting("record_api_usage",
                       [&](sqlite::Connection& conn, std::vector<BudgetAlert>* alerts) -> Result<ApiUsage> {
    CONVSTORE_RETURN_IF_ERROR(cost::CheckRequestIdFreeOfReservation(conn, usage.request_id, now));
    cost::SpendNote spent;
    auto recorded = RecordUsage(conn, valid, usage.user_key, usage.request_id, now, spent);
    if (!recorded.ok()) return recorded;
    CONVSTORE_RETURN_IF_ERROR(cost::AssessSpend(conn, spent, now, false, recorded->budget_overages, alerts));
    return recorded;
  });
}

}  // namespace convstore::api
