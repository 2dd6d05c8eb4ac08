// Messages: their checks, their insert with the conversation's counters, idempotent retries by request_id, and the
// token-budgeted context window.
//
// Functions take the connection of the caller's transaction; none opens one, and none touches a derived structure
// (cost rollups, metadata index): the caller keeps those in step in the same transaction.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "convstore/types.h"
#include "sqlite/connection.h"

namespace convstore::records {

// A NewMessage after validation: everything the insert needs, computed before the write lock is taken.
struct ValidMessage {
  const NewMessage* in = nullptr;
  std::string metadata;  // normalised
  std::optional<NanoUsd> cost;
  int64_t created_at = 0;
  std::vector<ToolCall> calls;  // NewMessage::tool_calls checked; message id, ids and times set at insert
};

// Checks `m` (`index` and `batch` name the field of a batch in errors, "messages[3].content").
Status ValidateMessage(const NewMessage& m, size_t index, bool batch, int64_t now, ValidMessage& out);

// A conversation's counters as read at the start of a write and advanced per inserted message. The insert writes
// no conversation row: the new messages are pending (conversation_counters.h), and the totals here serve the int64
// range check only.
struct ConversationCounters {
  int64_t row_id = 0, next_position = 0, message_count = 0;
  int64_t stored_next_position = 0;  // as stored: next_position minus the pending messages
  TokenCounts tokens{};
  int64_t cost = 0;
  int64_t user_id = 0, team_id = 0;  // team_id 0: the user has no team
};
// The counters before adding `adding` messages: next_position past the pending messages, and the totals with the
// pending messages when the stored ones are near the int64 limit. kNotFound naming the conversation; kCorruption
// when the stored next_position lies too far behind the messages.
Result<ConversationCounters> LoadCounters(sqlite::Connection& conn, std::string_view conversation_id, size_t adding);
// After an insert: folds the conversation's pending messages into its row when kMaxPendingPerConversation or more
// are pending.
Status FoldIfManyPending(sqlite::Connection& conn, const ConversationCounters& counters);

// The message with this request_id into `out` (true), or false. kConflict when it belongs to another conversation
// or was deleted (its tombstone keeps the request_id).
Result<bool> FindByRequestId(sqlite::Connection& conn, std::string_view request_id,
                             const ConversationCounters& conversation, std::string_view conversation_id,
                             Message& out);

// The message INSERT, prepared once for a batch and passed to each InsertMessage. Valid while `conn` is.
Result<sqlite::Stmt> PrepareMessageInsert(sqlite::Connection& conn);

// Inserts `v` with `insert` (from PrepareMessageInsert on `conn`) as the conversation's next message, with row id
// `row_id` (unused: the caller chooses it above every message id) and the given cost and price, fills `msg`, and
// advances `counters` (kTooLarge when a total would leave the int64 range); returns the row id. Also records the
// message's tool calls (v.calls, into msg.tool_calls) and, for a tool result naming a pending call, finishes that
// call.
Result<int64_t> InsertMessage(sqlite::Connection& conn, sqlite::Stmt& insert, int64_t row_id,
                              std::string_view conversation_id, ConversationCounters& counters, const ValidMessage& v,
                              const std::optional<NanoUsd>& cost, const std::optional<int64_t>& price_id,
                              Message& msg);

// A stored message and its row id.
struct StoredMessage {
  int64_t row_id = 0;
  int64_t conversation_row = 0;
  Message message;
};
// The message with this id; kNotFound when there is none.
Result<StoredMessage> FindMessage(sqlite::Connection& conn, std::string_view message_id);
// The conversation's messages, oldest first; only the newest one with newest_only. kNotFound when the conversation
// does not exist.
Result<std::vector<StoredMessage>> ConversationMessages(sqlite::Connection& conn, std::string_view conversation_id,
                                                        bool newest_only);
// Replaces each message row with its tombstone (cost columns and request_id, no content; tool calls go with the
// row) and lowers the conversation's message_count; its token and cost totals stay, as spent. All rows belong to
// `conversation_row`.
Status TombstoneMessages(sqlite::Connection& conn, int64_t conversation_row, const std::vector<int64_t>& row_ids,
                         int64_t now);
// Checks an edit of `message_id`: content and metadata normalised into `out`, raw checked.
Status ValidateMessageEdit(std::string_view message_id, const MessageEdit& edit, MessageEdit& out);
// Writes a checked edit to the row and into `m`.
Status EditMessageRow(sqlite::Connection& conn, int64_t row_id, const MessageEdit& edit, Message& m);

// The newest `count` messages, oldest first.
Result<std::vector<Message>> LastMessages(sqlite::Connection& conn, std::string_view conversation_id, int64_t count);

// The context window of GetContext in store.h, from one snapshot: the conversation's system prompt and system
// messages (one query each), then one newest-first walk over the messages that stops where the window is decided.
Result<std::vector<Message>> ContextWindow(sqlite::Connection& conn, std::string_view conversation_id,
                                           const ContextOptions& options);

}  // namespace convstore::records
