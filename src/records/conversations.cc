#include "records/conversations.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "convstore/limits.h"
#include "records/conversation_counters.h"
#include "records/lookups.h"
#include "records/rows.h"
#include "util/json_input.h"
#include "util/uuid.h"
#include "util/validate.h"

namespace convstore::records {

Status NoSuchConversation(std::string_view id) {
  return Status::NotFound(fmt::format("conversation '{}' does not exist", id));
}

Result<Conversation> PrepareConversation(const NewConversation& in) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(in.user_key, "user key"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(in.title, "title", limits::kMaxTitleBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(in.system_prompt, "system_prompt", limits::kMaxSystemPromptBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(in.model, "model", limits::kMaxNameBytes));
  if (in.temperature && !(std::isfinite(*in.temperature) && *in.temperature >= 0 &&
                          *in.temperature <= limits::kMaxTemperature))
    return Status::InvalidArgument(
        fmt::format("temperature must be a finite number between 0 and {}", limits::kMaxTemperature));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(in.max_tokens, 1, limits::kMaxMaxTokens, "max_tokens"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(in.created_at, "created_at"));
  if (!in.external_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(in.external_id, "external_id"));
  auto metadata = util::NormalizeJson(in.metadata_json, "metadata", limits::kMaxMetadataBytes, true);
  if (!metadata.ok()) return metadata.status();

  Conversation c;
  c.external_id = in.external_id;
  c.user_key = in.user_key;
  c.title = in.title;
  c.system_prompt = in.system_prompt;
  c.model = in.model;
  c.temperature = in.temperature;
  c.max_tokens = in.max_tokens;
  c.metadata_json = std::move(*metadata);
  return c;
}

void StampConversation(Conversation& c, const NewConversation& in, int64_t now) {
  c.created_at = c.updated_at = in.created_at.value_or(now);
  c.id = util::NewUuidV7(c.created_at);
}

Result<std::optional<std::string>> ValidateUpdate(std::string_view id, const ConversationUpdate& update) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, "conversation id"));
  if (update.title) CONVSTORE_RETURN_IF_ERROR(util::CheckText(*update.title, "title", limits::kMaxTitleBytes));
  std::optional<std::string> metadata;
  if (update.metadata_json) {
    auto m = util::NormalizeJson(*update.metadata_json, "metadata", limits::kMaxMetadataBytes, true);
    if (!m.ok()) return m.status();
    metadata = std::move(*m);
  }
  return metadata;
}

Result<int64_t> InsertConversation(sqlite::Connection& conn, const Conversation& c, int64_t user_id) {
  auto st = conn.Prepare(
      "INSERT INTO conversations(uid, user_id, title, system_prompt, model, temperature, max_tokens, metadata, "
      "created_at, updated_at, external_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)");
  if (!st.ok()) return st.status();
  st->Bind(1, c.id).Bind(2, user_id).Bind(3, c.title).Bind(4, c.system_prompt).Bind(5, c.model);
  st->Bind(6, c.temperature).Bind(7, c.max_tokens).Bind(8, c.metadata_json).Bind(9, c.created_at);
  st->BindTextOrNull(10, c.external_id);
  CONVSTORE_RETURN_IF_ERROR(st->Run("insert conversation"));
  return conn.last_insert_rowid();
}

Result<std::optional<Conversation>> FindByExternalId(sqlite::Connection& conn, std::string_view external_id,
                                                     std::string_view user_key) {
  auto st = conn.Prepare("SELECT " CONVSTORE_CONVERSATION_COLUMNS " FROM conversations c JOIN users u ON u.id = c.user_id"
                         " WHERE c.external_id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, external_id);
  auto found = st->Step("find conversation by external id");
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<Conversation>();
  Conversation c;
  CONVSTORE_RETURN_IF_ERROR(ReadConversationAsRead(conn, *st, 0, c));
  if (c.user_key != user_key)
    return Status::Conflict(fmt::format("external_id '{}' names a conversation of another user", external_id));
  return std::optional<Conversation>(std::move(c));
}

Result<Conversation> SelectConversation(sqlite::Connection& conn, std::string_view id) {
  auto st = conn.Prepare("SELECT " CONVSTORE_CONVERSATION_COLUMNS
                         " FROM conversations c JOIN users u ON u.id = c.user_id WHERE c.uid = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto found = st->Step("get conversation");
  if (!found.ok()) return found.status();
  if (!*found) return NoSuchConversation(id);
  Conversation c;
  CONVSTORE_RETURN_IF_ERROR(ReadConversationAsRead(conn, *st, 0, c));
  return c;
}

Result<ConversationWithMessages> SelectConversationWithMessages(sqlite::Connection& conn, std::string_view id) {
  // Two statements: the conversation's columns are decoded once rather than repeated on every message row of a join.
  auto conv = conn.Prepare("SELECT " CONVSTORE_CONVERSATION_COLUMNS
                           " FROM conversations c JOIN users u ON u.id = c.user_id WHERE c.uid = ?1");
  if (!conv.ok()) return conv.status();
  conv->Bind(1, id);
  auto found = conv->Step("get conversation");
  if (!found.ok()) return found.status();
  if (!*found) return NoSuchConversation(id);
  ConversationWithMessages out;
  ReadConversation(*conv, 0, out.conversation);
  const StoredRow stored = StoredRowOf(*conv, 0);

  out.messages.reserve(static_cast<size_t>(out.conversation.message_count));
  auto read = conn.ForEachRow(
      "SELECT " CONVSTORE_MESSAGE_COLUMNS " FROM messages m WHERE m.conversation_id = ?1 ORDER BY m.position",
      "get messages",
      [&](const sqlite::Stmt& st) {
        ReadMessage(st, 0, out.conversation.id, out.messages.emplace_back());
        return true;
      },
      stored.row_id);
  if (!read.ok()) return read.status();
  out.message_count = static_cast<int64_t>(out.messages.size());
  // The pending messages are the last ones read.
  CONVSTORE_RETURN_IF_ERROR(AddPendingOf(out.messages, stored.next_position, out.conversation));
  return out;
}

Result<ConversationDocument> SelectConversationDocument(sqlite::Connection& conn, std::string_view id) {
  auto found = conn.QueryRow(
      "SELECT id, created_at, metadata FROM conversations WHERE uid = ?1", "find conversation",
      [](const sqlite::Stmt& st) { return ConversationDocument{st.Int(0), st.Int(1), st.String(2)}; }, id);
  if (!found.ok()) return found.status();
  if (!*found) return NoSuchConversation(id);
  return std::move(**found);
}

Status UpdateConversation(sqlite::Connection& conn, std::string_view id, const std::optional<std::string>& title,
                          const std::optional<std::string>& metadata, int64_t now) {
  auto st = conn.Prepare(
      "UPDATE conversations SET title = coalesce(?2, title), metadata = coalesce(?3, metadata), "
      "updated_at = max(updated_at, ?4) WHERE uid = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, id).Bind(4, now);
  if (title) st->Bind(2, *title); else st->BindNull(2);
  if (metadata) st->Bind(3, *metadata); else st->BindNull(3);
  CONVSTORE_RETURN_IF_ERROR(st->Run("update conversation"));
  return conn.changes() == 0 ? NoSuchConversation(id) : Status::OK();
}

Status SetArchived(sqlite::Connection& conn, std::string_view id, bool archived) {
  CONVSTORE_RETURN_IF_ERROR(conn.Run("UPDATE conversations SET archived = ?2 WHERE uid = ?1", "archive conversation",
                                     id, int64_t{archived}));
  return conn.changes() == 0 ? NoSuchConversation(id) : Status::OK();
}

Status DeleteConversationRow(sqlite::Connection& conn, int64_t row_id) {
  return conn.Run("DELETE FROM conversations WHERE id = ?1", "delete conversation", row_id);
}

Result<ConversationPage> ListConversations(sqlite::Connection& conn, std::string_view user_key,
                                           const ListCursor& after, int limit, bool include_archived) {
  auto found = RowOrNone(FindUserId(conn, user_key));
  if (!found.ok()) return found.status();
  if (*found == kNoSuchRow) return ConversationPage{};  // an unknown user has no conversations: an empty page
  const int64_t user_id = *found;

  // The listing index orders conversations by their stored updated_at; a conversation with pending messages
  // (conversation_counters.h) may have moved up since. Those are found among the few messages past the cost
  // watermark, placed by their updated_at as read, and skipped where the index scan meets them.
  struct Item {
    Conversation c;
    int64_t row_id;
  };
  std::vector<Item> items;
  std::vector<int64_t> moved;  // row ids of conversations with pending messages, sorted
  {
    // One statement: the user's conversations with messages past the watermark (those few messages read by rowid),
    // each with its pending messages summed (a range of the (conversation_id, position) index).
    auto st = conn.Prepare("SELECT " CONVSTORE_CONVERSATION_COLUMNS ", " CONVSTORE_PENDING_COLUMNS
                           " FROM conversations c JOIN users u ON u.id = c.user_id"
                           " LEFT JOIN messages p ON p.conversation_id = c.id AND p.position >= c.next_position"
                           " WHERE " CONVSTORE_HAS_RECENT_MESSAGES("c") " AND c.user_id = ?1 AND u.id = ?1"
                           " GROUP BY c.archived, c.updated_at, c.id");  // the listing index's order: no sort
    if (!st.ok()) return st.status();
    st->Bind(1, user_id);
    for (;;) {
      auto row = st->Step("list conversations");
      if (!row.ok()) return row.status();
      if (!*row) break;
      const PendingMessages pending = PendingOf(*st, CONVSTORE_CONVERSATION_COLUMN_COUNT);
      if (pending.count == 0) continue;  // its row is where the index has it
      Item it;
      ReadConversation(*st, 0, it.c);
      it.row_id = StoredRowOf(*st, 0).row_id;
      CONVSTORE_RETURN_IF_ERROR(AddPending(pending, it.c));
      moved.push_back(it.row_id);
      if ((!it.c.archived || include_archived) &&
          std::pair(it.c.updated_at, it.row_id) < std::pair(after.updated_at, after.row_id))
        items.push_back(std::move(it));
    }
    std::sort(moved.begin(), moved.end());
  }

  // A keyset range scan of conversations_user_recent per archived value, skipping the conversations placed above;
  // limit+1 rows (after those skipped) tell whether another page exists. (u.id = ?1 reads the user's row once,
  // not once a row.)
  auto scan = [&](int64_t archived) -> Status {
    auto st = conn.Prepare("SELECT " CONVSTORE_CONVERSATION_COLUMNS
                           " FROM conversations c JOIN users u ON u.id = c.user_id"
                           " WHERE c.user_id = ?1 AND u.id = ?1 AND c.archived = ?2 AND (c.updated_at, c.id) < (?3, ?4)"
                           " ORDER BY c.updated_at DESC, c.id DESC LIMIT ?5");
    if (!st.ok()) return st.status();
    st->Bind(1, user_id).Bind(2, archived).Bind(3, after.updated_at).Bind(4, after.row_id);
    st->Bind(5, int64_t{limit} + 1 + static_cast<int64_t>(moved.size()));
    for (;;) {
      auto row = st->Step("list conversations");
      if (!row.ok()) return row.status();
      if (!*row) return Status::OK();
      const StoredRow stored = StoredRowOf(*st, 0);
      if (std::binary_search(moved.begin(), moved.end(), stored.row_id)) continue;
      Item& it = items.emplace_back();
      ReadConversation(*st, 0, it.c);
      it.row_id = stored.row_id;
    }
  };
  CONVSTORE_RETURN_IF_ERROR(scan(0));
  if (include_archived) CONVSTORE_RETURN_IF_ERROR(scan(1));
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.c.updated_at != b.c.updated_at ? a.c.updated_at > b.c.updated_at : a.row_id > b.row_id;
  });
  ConversationPage page;
  bool more = items.size() > static_cast<size_t>(limit);
  if (more) items.resize(static_cast<size_t>(limit));
  if (more) page.next_cursor = EncodeCursor({items.back().c.updated_at, items.back().row_id});
  page.items.reserve(items.size());
  for (auto& it : items) page.items.push_back(std::move(it.c));
  return page;
}

}  // namespace convstore::records
