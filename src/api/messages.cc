// Messages: add one or many (all or nothing, idempotent by request_id), and the token-budgeted context window.
#include <fmt/format.h>

#include "api/store_impl.h"
#include "convstore/limits.h"
#include "cost/budgets.h"
#include "cost/pending.h"
#include "cost/price_lookup.h"
#include "cost/rollups.h"
#include "metadata/index.h"
#include "search/text_index.h"
#include "api/message_insert.h"
#include "records/messages.h"

namespace convstore::api {

Status InsertMessages(sqlite::Connection& conn, std::string_view conversation_id,
                      const records::ValidMessage* msgs, size_t n, std::vector<Message>& out,
                      cost::SpendNote& spent) {
  auto counters = records::LoadCounters(conn, conversation_id, n);
  if (!counters.ok()) return counters.status();
  records::ConversationCounters& k = *counters;
  const int64_t before_count = k.message_count;
  spent = cost::SpendNote{k.user_id, k.team_id, {}};
  auto insert = records::PrepareMessageInsert(conn);  // once for the batch
  if (!insert.ok()) return insert.status();
  // The new messages are their own pending cost rows: ids above the cost watermark.
  auto ids = cost::NextMessageIds(conn);
  if (!ids.ok()) return ids.status();
  int64_t next_id = ids->next_id;
  std::vector<int64_t> inserted;
  inserted.reserve(n);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const records::ValidMessage& v = msgs[i];
    const NewMessage& m = *v.in;
    Message& msg = out.emplace_back();
    if (!m.request_id.empty()) {
      auto existing = records::FindByRequestId(conn, m.request_id, k, conversation_id, msg);
      if (!existing.ok()) return existing.status();
      if (*existing) continue;  // a retry: return the stored message, count nothing
    }
    const cost::TokenUse use = cost::TokensOf(m);
    auto priced = cost::PriceRow(conn, m.model, v.created_at, use, v.cost);
    if (!priced.ok()) return priced.status();
    auto row_id = records::InsertMessage(conn, *insert, next_id, conversation_id, k, v, priced->cost,
                                         priced->price_id, msg);
    if (!row_id.ok()) return row_id.status();
    inserted.push_back(*row_id);
    ++next_id;
    const NanoUsd spent_now = priced->cost.value_or(0);
    if (spent_now > 0) spent.rows.emplace_back(v.created_at, spent_now);
  }
  if (k.message_count == before_count) return Status::OK();  // every message was a retry
  CONVSTORE_RETURN_IF_ERROR(records::FoldIfManyPending(conn, k));
  CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kMessages, inserted));
  CONVSTORE_RETURN_IF_ERROR(search::AfterInsert(conn, TextSearchTarget::kMessages, inserted));
  return cost::MessagesAdded(conn, *ids, inserted.back());
}

Result<Message> StoreImpl::DoAddMessage(std::string_view conversation_id, const NewMessage& message) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  records::ValidMessage valid;
  const int64_t now = Now();
  CONVSTORE_RETURN_IF_ERROR(records::ValidateMessage(message, 0, false, now, valid));
  return WriteAlerting("add_message",
                       [&](sqlite::Connection& conn, std::vector<BudgetAlert>* alerts) -> Result<Message> {
    std::vector<Message> out;
    cost::SpendNote spent;
    CONVSTORE_RETURN_IF_ERROR(InsertMessages(conn, conversation_id, &valid, 1, out, spent));
    if (alerts) CONVSTORE_RETURN_IF_ERROR(cost::CollectBudgetAlerts(conn, spent, now, *alerts));
    return std::move(out.front());
  });
}

Result<std::vector<Message>> StoreImpl::DoAddMessages(std::string_view conversation_id,
                                                    const std::vector<NewMessage>& messages) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  if (messages.empty()) return Status::InvalidArgument("messages is empty");
  if (messages.size() > limits::kMaxBatchMessages)
    return Status::TooLarge(
        fmt::format("{} messages in one batch; the limit is {}", messages.size(), limits::kMaxBatchMessages));
  size_t bytes = 0;
  for (const NewMessage& m : messages) bytes += m.content.size() + m.metadata_json.size() + m.raw_json.size();
  if (bytes > limits::kMaxBatchBytes)
    return Status::TooLarge(fmt::format(
        "the batch carries {} bytes of content, metadata and raw items; the limit is {}", bytes, limits::kMaxBatchBytes));
  int64_t now = Now();
  std::vector<records::ValidMessage> valid(messages.size());
  for (size_t i = 0; i < messages.size(); ++i)
    CONVSTORE_RETURN_IF_ERROR(records::ValidateMessage(messages[i], i, true, now, valid[i]));
  return WriteAlerting("add_messages", [&](sqlite::Connection& conn,
                                           std::vector<BudgetAlert>* alerts) -> Result<std::vector<Message>> {
    std::vector<Message> out;
    cost::SpendNote spent;
    CONVSTORE_RETURN_IF_ERROR(InsertMessages(conn, conversation_id, valid.data(), valid.size(), out, spent));
    if (alerts) CONVSTORE_RETURN_IF_ERROR(cost::CollectBudgetAlerts(conn, spent, now, *alerts));
    return out;
  });
}

Result<std::vector<Message>> StoreImpl::DoGetContext(std::string_view conversation_id, const ContextOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  if (options.max_tokens < 0)
    return Status::InvalidArgument(fmt::format("max_tokens is {}; it must be >= 0", options.max_tokens));
  if (options.overflow != ContextOverflow::kStop && options.overflow != ContextOverflow::kSkip)
    return Status::InvalidArgument("overflow must be kStop or kSkip");
  if (options.counting != ContextCounting::kStored && options.counting != ContextCounting::kEstimate)
    return Status::InvalidArgument("counting must be kStored or kEstimate");
  return Read("get_context", [&](sqlite::Connection& conn) {
    return records::ContextWindow(conn, conversation_id, options);
  });
}

Result<std::vector<Message>> StoreImpl::DoGetLastMessages(std::string_view conversation_id, int64_t count) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(count, 1, limits::kMaxListLimit, "count"));
  return Read("get_last_messages", [&](sqlite::Connection& conn) {
    return records::LastMessages(conn, conversation_id, count);
  });
}

}  // namespace convstore::api
