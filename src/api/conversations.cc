// Conversations: create, read (alone or with its messages), update, archive, delete, list by user.
#include "api/store_impl.h"
#include "convstore/limits.h"
#include "cost/pending.h"
#include "cost/rollups.h"
#include "metadata/index.h"
#include "search/text_index.h"
#include "records/conversation_counters.h"
#include "records/conversations.h"
#include "records/lookups.h"
#include "util/json_writer.h"

namespace convstore::api {

Result<Conversation> StoreImpl::DoCreateConversation(const NewConversation& in) {
  auto c = records::PrepareConversation(in);
  if (!c.ok()) return c.status();
  int64_t now = Now();
  records::StampConversation(*c, in, now);
  return Write("create_conversation", [&](sqlite::Connection& conn) -> Result<Conversation> {
    if (!c->external_id.empty()) {  // get-or-create, under the write lock: one conversation per external id
      auto existing = records::FindByExternalId(conn, c->external_id, c->user_key);
      if (!existing.ok()) return existing.status();
      if (*existing) return std::move(**existing);
    }
    auto user_id = records::FindOrCreateUser(conn, c->user_key, now);
    if (!user_id.ok()) return user_id.status();
    auto row_id = records::InsertConversation(conn, *c, *user_id);
    if (!row_id.ok()) return row_id.status();
    CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kConversations, {*row_id}));
    CONVSTORE_RETURN_IF_ERROR(search::AfterInsert(conn, TextSearchTarget::kConversations, {*row_id}));
    return *c;
  });
}

Result<Conversation> StoreImpl::DoGetConversationInfo(std::string_view id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, "conversation id"));
  return Read("get_conversation_info",
              [&](sqlite::Connection& conn) { return records::SelectConversation(conn, id); });
}

Result<ConversationWithMessages> StoreImpl::DoGetConversation(std::string_view id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, "conversation id"));
  return Read("get_conversation", [&](sqlite::Connection& conn) -> Result<ConversationWithMessages> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return records::SelectConversationWithMessages(conn, id);
  });
}

Result<Conversation> StoreImpl::DoUpdateConversation(std::string_view id, const ConversationUpdate& update) {
  auto metadata = records::ValidateUpdate(id, update);
  if (!metadata.ok()) return metadata.status();
  if (!update.title && !*metadata) {  // nothing to change: no write, updated_at stays
    return Read("get_conversation_info",
                [&](sqlite::Connection& conn) { return records::SelectConversation(conn, id); });
  }
  int64_t now = Now();
  return Write("update_conversation", [&](sqlite::Connection& conn) -> Result<Conversation> {
    // The metadata index replaces the old document's postings with the new one's.
    std::optional<records::ConversationDocument> old;
    if (*metadata) {
      auto doc = records::SelectConversationDocument(conn, id);
      if (!doc.ok()) return doc.status();
      old = std::move(*doc);
    }
    // The full-text index removes the old title before it changes, and indexes the new one after.
    std::optional<int64_t> retitled;
    if (update.title) {
      auto row = records::FindConversationRow(conn, id);
      if (!row.ok()) return row.status();
      retitled = *row;
      CONVSTORE_RETURN_IF_ERROR(search::BeforeRowsChange(conn, TextSearchTarget::kConversations, {*retitled}));
    }
    CONVSTORE_RETURN_IF_ERROR(records::UpdateConversation(conn, id, update.title, *metadata, now));
    if (old)
      CONVSTORE_RETURN_IF_ERROR(metadata::AfterConversationUpdate(conn, old->row_id, old->created_at, old->metadata));
    if (retitled)
      CONVSTORE_RETURN_IF_ERROR(search::AfterRowsChange(conn, TextSearchTarget::kConversations, {*retitled}));
    return records::SelectConversation(conn, id);
  });
}

Status StoreImpl::DoSetArchived(std::string_view id, bool archived) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, "conversation id"));
  return Write("set_archived",
               [&](sqlite::Connection& conn) { return records::SetArchived(conn, id, archived); });
}

Status StoreImpl::DoDeleteConversation(std::string_view id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, "conversation id"));
  const AuditActor who = CurrentAuditActor();
  return Write("delete_conversation", [&](sqlite::Connection& conn) -> Status {
    auto row_id = records::FindConversationRow(conn, id);
    if (!row_id.ok()) return row_id.status();
    auto owner = records::ConversationUserId(conn, *row_id);
    if (!owner.ok()) return owner.status();
    CONVSTORE_RETURN_IF_ERROR(records::FoldConversation(conn, *row_id));  // the counts below include every message
    auto counts = conn.QueryRow(
        "SELECT message_count, cost_nanousd FROM conversations WHERE id = ?1", "delete conversation: counts",
        [](const sqlite::Stmt& st) {
          return util::JsonWriter().BeginObject().Key("messages").Int(st.Int(0)).Key("cost_nanousd").Int(st.Int(1))
              .EndObject().Take();
        },
        *row_id);
    if (!counts.ok()) return counts.status();
    CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, {"conversation.deleted", "conversation", std::string(id), *owner,
                                                  counts->value_or("{}")}));
    // The rollups stop counting the messages that go (API usage of the conversation stays, unlinked).
    std::vector<cost::CostRow> gone;
    CONVSTORE_RETURN_IF_ERROR(cost::ConversationCostRows(conn, *row_id, gone));
    cost::RollupDelta rollups;
    CONVSTORE_RETURN_IF_ERROR(cost::RemoveCostRows(conn, gone, rollups));
    CONVSTORE_RETURN_IF_ERROR(cost::ApplyDelta(conn, rollups));
    CONVSTORE_RETURN_IF_ERROR(cost::FoldIfDue(conn));
    CONVSTORE_RETURN_IF_ERROR(metadata::BeforeConversationDelete(conn, *row_id));
    CONVSTORE_RETURN_IF_ERROR(search::BeforeConversationDelete(conn, *row_id));
    return records::DeleteConversationRow(conn, *row_id);
  });
}

Result<ConversationPage> StoreImpl::DoListConversations(const ListConversationsOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(options.user_key, "user key"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(options.limit, 1, limits::kMaxListLimit, "limit"));
  records::ListCursor after{INT64_MAX, INT64_MAX};
  if (!options.cursor.empty()) {
    auto decoded = records::DecodeCursor(options.cursor);
    if (!decoded) return Status::InvalidArgument("cursor is not a cursor returned by list_conversations");
    after = *decoded;
  }
  return Read("list_conversations", [&](sqlite::Connection& conn) -> Result<ConversationPage> {
    auto txn = sqlite::ReadTransaction::Begin(conn);  // the user lookup and both scans see one snapshot
    if (!txn.ok()) return txn.status();
    return records::ListConversations(conn, options.user_key, after, options.limit, options.include_archived);
  });
}

}  // namespace convstore::api
