// Messages removed or corrected: delete one, pop the newest, clear a conversation, edit one. Each validates, then
// runs one transaction that keeps the counters and the metadata index in step; the cost rollups need nothing, as
// tombstones keep counting what deleted messages spent (once the messages still pending are folded: a pending
// message that became a tombstone would no longer be counted).
#include <fmt/format.h>

#include "api/store_impl.h"
#include "cost/pending.h"
#include "metadata/index.h"
#include "search/text_index.h"
#include "records/lookups.h"
#include "records/messages.h"
#include "util/json_writer.h"

namespace convstore::api {

namespace {

// The audit entry's details of removed messages: their conversation and positions (nothing of their content).
AuditNote RemovalNote(const char* action, const std::vector<records::StoredMessage>& gone, int64_t owner) {
  util::JsonWriter w;
  w.BeginObject().Key("conversation").String(gone.front().message.conversation_id).Key("messages").Int(
      static_cast<int64_t>(gone.size()));
  if (gone.size() == 1) w.Key("position").Int(gone.front().message.position);
  w.EndObject();
  const bool one = std::string_view(action) == "message.deleted";
  return {action, one ? "message" : "conversation",
          one ? gone.front().message.id : gone.front().message.conversation_id, owner, w.Take()};
}

Status RemoveMessages(sqlite::Connection& conn, const std::vector<records::StoredMessage>& gone, int64_t now) {
  if (gone.empty()) return Status::OK();
  std::vector<int64_t> ids;
  ids.reserve(gone.size());
  for (const records::StoredMessage& m : gone) ids.push_back(m.row_id);
  CONVSTORE_RETURN_IF_ERROR(cost::FoldPendingMessages(conn));
  CONVSTORE_RETURN_IF_ERROR(metadata::BeforeMessagesDelete(conn, ids));
  CONVSTORE_RETURN_IF_ERROR(search::BeforeRowsChange(conn, TextSearchTarget::kMessages, ids));
  return records::TombstoneMessages(conn, gone.front().conversation_row, ids, now);
}

}  // namespace

Result<Message> StoreImpl::DoDeleteMessage(std::string_view message_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(message_id, "message id"));
  const int64_t now = Now();
  const AuditActor who = CurrentAuditActor();
  return Write("delete_message", [&](sqlite::Connection& conn) -> Result<Message> {
    auto found = records::FindMessage(conn, message_id);
    if (!found.ok()) return found.status();
    CONVSTORE_RETURN_IF_ERROR(RemoveMessages(conn, {*found}, now));
    auto owner = records::ConversationUserId(conn, found->conversation_row);
    if (!owner.ok()) return owner.status();
    CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, RemovalNote("message.deleted", {*found}, *owner)));
    return std::move(found->message);
  });
}

Result<std::optional<Message>> StoreImpl::DoPopMessage(std::string_view conversation_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  const int64_t now = Now();
  const AuditActor who = CurrentAuditActor();
  return Write("pop_message", [&](sqlite::Connection& conn) -> Result<std::optional<Message>> {
    auto newest = records::ConversationMessages(conn, conversation_id, /*newest_only=*/true);
    if (!newest.ok()) return newest.status();
    if (newest->empty()) return std::optional<Message>();
    CONVSTORE_RETURN_IF_ERROR(RemoveMessages(conn, *newest, now));
    auto owner = records::ConversationUserId(conn, newest->front().conversation_row);
    if (!owner.ok()) return owner.status();
    CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, RemovalNote("message.deleted", *newest, *owner)));
    return std::optional<Message>(std::move(newest->front().message));
  });
}

Result<int64_t> StoreImpl::DoClearMessages(std::string_view conversation_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  const int64_t now = Now();
  const AuditActor who = CurrentAuditActor();
  return Write("clear_messages", [&](sqlite::Connection& conn) -> Result<int64_t> {
    auto all = records::ConversationMessages(conn, conversation_id, /*newest_only=*/false);
    if (!all.ok()) return all.status();
    CONVSTORE_RETURN_IF_ERROR(RemoveMessages(conn, *all, now));
    if (!all->empty()) {
      auto owner = records::ConversationUserId(conn, all->front().conversation_row);
      if (!owner.ok()) return owner.status();
      CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, RemovalNote("conversation.cleared", *all, *owner)));
    }
    return static_cast<int64_t>(all->size());
  });
}

Result<Message> StoreImpl::DoEditMessage(std::string_view message_id, const MessageEdit& edit) {
  MessageEdit valid;
  CONVSTORE_RETURN_IF_ERROR(records::ValidateMessageEdit(message_id, edit, valid));
  const AuditActor who = CurrentAuditActor();
  return Write("edit_message", [&](sqlite::Connection& conn) -> Result<Message> {
    auto found = records::FindMessage(conn, message_id);
    if (!found.ok()) return found.status();
    Message& m = found->message;
    const std::string old_metadata = m.metadata_json;
    // The full-text index removes the old content before it changes, and indexes the new content after.
    if (valid.content)
      CONVSTORE_RETURN_IF_ERROR(search::BeforeRowsChange(conn, TextSearchTarget::kMessages, {found->row_id}));
    CONVSTORE_RETURN_IF_ERROR(records::EditMessageRow(conn, found->row_id, valid, m));
    if (valid.content)
      CONVSTORE_RETURN_IF_ERROR(search::AfterRowsChange(conn, TextSearchTarget::kMessages, {found->row_id}));
    auto owner = records::ConversationUserId(conn, found->conversation_row);
    if (!owner.ok()) return owner.status();
    util::JsonWriter fields;
    fields.BeginObject().Key("conversation").String(m.conversation_id).Key("fields").BeginArray();
    if (valid.content) fields.String("content");
    if (valid.metadata_json) fields.String("metadata");
    if (valid.raw_json) fields.String("raw");
    fields.EndArray().EndObject();
    CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, {"message.edited", "message", m.id, *owner, fields.Take()}));
    if (valid.metadata_json && *valid.metadata_json != old_metadata)
      CONVSTORE_RETURN_IF_ERROR(metadata::AfterMessageUpdate(conn, found->row_id, m.created_at, old_metadata));
    return std::move(m);
  });
}

}  // namespace convstore::api
