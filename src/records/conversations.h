// Conversations: their rows and the checks of their fields.
//
// Functions take the connection of the caller's transaction; none opens one, and none touches a derived structure
// (cost rollups, metadata index): the caller keeps those in step in the same transaction.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "convstore/status.h"
#include "convstore/types.h"
#include "records/cursor.h"
#include "sqlite/connection.h"

namespace convstore::records {

// kNotFound naming the conversation.
Status NoSuchConversation(std::string_view id);

// Checks `in` and builds the conversation to insert (metadata normalised) without its id and times. No database
// access.
Result<Conversation> PrepareConversation(const NewConversation& in);
// Stamps a prepared conversation: created and updated at `in.created_at`, else `now`; id a new UUIDv7 of that time.
void StampConversation(Conversation& c, const NewConversation& in, int64_t now);
// Checks an update; returns the normalised metadata when the update sets it.
Result<std::optional<std::string>> ValidateUpdate(std::string_view id, const ConversationUpdate& update);

// Inserts `c` for the user with row id `user_id`; returns the new row id.
Result<int64_t> InsertConversation(sqlite::Connection& conn, const Conversation& c, int64_t user_id);

// The conversation with its user's key; kNotFound when missing.
// The conversation with this external id, or nullopt; kConflict when it belongs to a user other than user_key.
Result<std::optional<Conversation>> FindByExternalId(sqlite::Connection& conn, std::string_view external_id,
                                                     std::string_view user_key);
Result<Conversation> SelectConversation(sqlite::Connection& conn, std::string_view id);
// The conversation and its messages in position order; run it inside a read transaction (one snapshot).
Result<ConversationWithMessages> SelectConversationWithMessages(sqlite::Connection& conn, std::string_view id);

// Row id, created_at and metadata of a conversation (what the metadata index needs to replace a document).
struct ConversationDocument {
  int64_t row_id = 0;
  int64_t created_at = 0;
  std::string metadata;
};
Result<ConversationDocument> SelectConversationDocument(sqlite::Connection& conn, std::string_view id);

// Sets the title and/or metadata given (nullopt keeps the stored value); updated_at becomes max(updated_at, now).
// kNotFound when missing.
Status UpdateConversation(sqlite::Connection& conn, std::string_view id, const std::optional<std::string>& title,
                          const std::optional<std::string>& metadata, int64_t now);
Status SetArchived(sqlite::Connection& conn, std::string_view id, bool archived);
// Deletes the conversation row; ON DELETE CASCADE removes its messages and, through them, their tool calls.
Status DeleteConversationRow(sqlite::Connection& conn, int64_t row_id);

// One page of a user's conversations, newest update first, after `after` (a keyset cursor). Run it inside a read
// transaction so the user lookup and the scans see one snapshot.
Result<ConversationPage> ListConversations(sqlite::Connection& conn, std::string_view user_key,
                                           const ListCursor& after, int limit, bool include_archived);

}  // namespace convstore::records
