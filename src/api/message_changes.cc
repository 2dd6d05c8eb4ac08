// Messages removed or corrected: delete one, pop the newest, clear a conversation, edit one. Each validates, then
// runs one transaction that keeps the counters and the metadata index in step; the cost rollups need nothing, as
// tombstones keep counting what deleted messages spent.
#include <fmt/format.h>

#include "api/store_impl.h"
#include "metadata/index.h"
#include "records/messages.h"

namespace convstore::api {

namespace {

Status RemoveMessages(sqlite::Connection& conn, const std::vector<records::StoredMessage>& gone, int64_t now) {
  if (gone.empty()) return Status::OK();
  std::vector<int64_t> ids;
  ids.reserve(gone.size());
  for (const records::StoredMessage& m : gone) ids.push_back(m.row_id);
  CONVSTORE_RETURN_IF_ERROR(metadata::BeforeMessagesDelete(conn, ids));
  return records::TombstoneMessages(conn, gone.front().conversation_row, ids, now);
}

}  // namespace

Result<Message> StoreImpl::DoDeleteMessage(std::string_view message_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(message_id, "message id"));
  const int64_t now = Now();
  return Write("delete_message", [&](sqlite::Connection& conn) -> Result<Message> {
    auto found = records::FindMessage(conn, message_id);
    if (!found.ok()) return found.status();
    CONVSTORE_RETURN_IF_ERROR(RemoveMessages(conn, {*found}, now));
    return std::move(found->message);
  });
}

Result<std::optional<Message>> StoreImpl::DoPopMessage(std::string_view conversation_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  const int64_t now = Now();
  return Write("pop_message", [&](sqlite::Connection& conn) -> Result<std::optional<Message>> {
    auto newest = records::ConversationMessages(conn, conversation_id, /*newest_only=*/true);
    if (!newest.ok()) return newest.status();
    if (newest->empty()) return std::optional<Message>();
    CONVSTORE_RETURN_IF_ERROR(RemoveMessages(conn, *newest, now));
    return std::optional<Message>(std::move(newest->front().message));
  });
}

Result<int64_t> StoreImpl::DoClearMessages(std::string_view conversation_id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  const int64_t now = Now();
  return Write("clear_messages", [&](sqlite::Connection& conn) -> Result<int64_t> {
    auto all = records::ConversationMessages(conn, conversation_id, /*newest_only=*/false);
    if (!all.ok()) return all.status();
    CONVSTORE_RETURN_IF_ERROR(RemoveMessages(conn, *all, now));
    return static_cast<int64_t>(all->size());
  });
}

Result<Message> StoreImpl::DoEditMessage(std::string_view message_id, const MessageEdit& edit) {
  MessageEdit valid;
  CONVSTORE_RETURN_IF_ERROR(records::ValidateMessageEdit(message_id, edit, valid));
  return Write("edit_message", [&](sqlite::Connection& conn) -> Result<Message> {
    auto found = records::FindMessage(conn, message_id);
    if (!found.ok()) return found.status();
    Message& m = found->message;
    const std::string old_metadata = m.metadata_json;
    CONVSTORE_RETURN_IF_ERROR(records::EditMessageRow(conn, found->row_id, valid, m));
    if (valid.metadata_json && *valid.metadata_json != old_metadata)
      CONVSTORE_RETURN_IF_ERROR(metadata::AfterMessageUpdate(conn, found->row_id, m.created_at, old_metadata));
    return std::move(m);
  });
}

}  // namespace convstore::api
