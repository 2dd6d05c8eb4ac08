// Expiry: finding and deleting the rows retention removes — whole conversations idle since before a horizon (in
// pieces when large) and API usage recorded before one.
//
// Candidates are found with a keyset walk in row-id order (no index on the times is needed: a run reads each
// table once, in slices), on any connection; the deletes run in the caller's write transaction, re-checking each
// candidate there (another writer may have touched it since). None touches a derived structure (cost rollups,
// retained cost, metadata index): the caller keeps those in step in the same transaction.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convstore/status.h"
#include "convstore/types.h"
#include "sqlite/connection.h"

namespace convstore::records {

struct IdleConversation {
  int64_t row_id = 0;
  std::string uid;
  int64_t user_id = 0;
  int64_t messages = 0;  // stored messages
};

// Up to `limit` conversations with row id > after_row and updated_at < before, in row-id order.
Result<std::vector<IdleConversation>> FindIdleConversations(sqlite::Connection& conn, int64_t after_row,
                                                            Micros before, int64_t limit);
// The conversation as it is now when it still exists and is still idle (updated_at < before); nullopt otherwise.
// Folds its pending messages into its row first (a write: run it in the transaction that acts on the answer).
Result<std::optional<IdleConversation>> RecheckIdle(sqlite::Connection& conn, int64_t row_id, Micros before);

// The row ids of up to `limit` of a conversation's messages, oldest (lowest position) first.
Result<std::vector<int64_t>> OldestMessageIds(sqlite::Connection& conn, int64_t conversation_row, int64_t limit);

// The tool calls deleting these messages (or this conversation) takes with it.
Result<int64_t> CountToolCallsOfMessages(sqlite::Connection& conn, const std::vector<int64_t>& message_ids);
Result<int64_t> CountToolCallsOfConversation(sqlite::Connection& conn, int64_t conversation_row);

// Deletes messages of one conversation (their tool calls go with them) without tombstones, and takes them out of
// the conversation's counters (count, tokens, cost): what they spent now lives in the retained cost, which names
// no conversation.
Status DropMessages(sqlite::Connection& conn, int64_t conversation_row, const std::vector<int64_t>& message_ids);

// Up to `limit` API usage row ids with id > after_row and recorded_at < before, in row-id order.
Result<std::vector<int64_t>> FindOldApiUsage(sqlite::Connection& conn, int64_t after_row, Micros before,
                                             int64_t limit);
// Of these row ids, those still stored (and recorded before `before`).
Result<std::vector<int64_t>> RecheckOldApiUsage(sqlite::Connection& conn, const std::vector<int64_t>& row_ids,
                                                Micros before);
Status DeleteApiUsageRows(sqlite::Connection& conn, const std::vector<int64_t>& row_ids);

}  // namespace convstore::records
