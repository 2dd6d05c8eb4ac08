// A conversation's counters — message_count, the token totals, cost_nanousd, next_position and updated_at — as
// stored lag its newest messages, so that adding a message writes no conversation row (neither the row nor its
// place in the listing index conversations_user_recent moves).
//
// The messages a conversation's stored counters do not count yet are exactly its messages at or past its stored
// next_position (its pending messages): a message is numbered from the counters plus the pending messages, and a
// fold adds the pending messages to the row and moves next_position past them. So
//
//   counter as read = stored counter + the pending messages' sum (count; max for updated_at and next_position).
//
// Bounds that keep reads cheap:
//   - an insert folds its conversation once kMaxPendingPerConversation messages are pending, so a reader of one
//     conversation adds up fewer than that many rows (an index range on (conversation_id, position));
//   - every pending message lies above the cost watermark (cost_fold, cost/pending.h): the cost fold folds every
//     conversation with a message above it before moving it, so a listing finds the conversations with pending
//     messages among the few messages past the watermark.
// Every writer that changes a counter other than by inserting (deletes, reprices, retention, imports) folds first,
// so it works on exact stored values.
//
// Not thread-safe: each function runs on the connection of the caller's transaction (reads: a read transaction).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "convstore/types.h"
#include "sqlite/connection.h"
#include "sqlite/statement.h"

namespace convstore::records {

// An insert folds its conversation when this many of its messages are pending.
inline constexpr int64_t kMaxPendingPerConversation = 32;

// The sums of a conversation's pending messages.
struct PendingMessages {
  int64_t count = 0;
  TokenCounts tokens{};
  int64_t cost = 0;
  int64_t newest_created_at = 0;  // 0 when there are none
  int64_t next_position = 0;      // the newest pending position + 1; 0 when there are none
};

// The pending messages of the conversation with row id `conversation_row` and stored next_position `next_position`.
Result<PendingMessages> ReadPendingMessages(sqlite::Connection& conn, int64_t conversation_row,
                                            int64_t next_position);

// 9 columns: the aggregates of the pending messages aliased p (joined or filtered as position >= next_position of
// their conversation), read back with PendingOf.
#define CONVSTORE_PENDING_COLUMNS                                                                              \
  "count(p.id), coalesce(sum(p.tokens_input), 0), coalesce(sum(p.tokens_output), 0),"                         \
  " coalesce(sum(p.tokens_cached_input), 0), coalesce(sum(p.tokens_cache_write), 0),"                         \
  " coalesce(sum(p.tokens_reasoning), 0), coalesce(sum(p.cost_nanousd), 0), coalesce(max(p.created_at), 0),"  \
  " coalesce(max(p.position) + 1, 0)"
PendingMessages PendingOf(const sqlite::Stmt& st, int first);

// Adds `pending`'s count, tokens and cost to these totals of `conversation` (its id, for the error). kCorruption
// when a total would leave the int64 range (the inserts keep every total in range: the file was changed outside
// convstore); the totals are then partly added.
Status AddPendingTotals(const PendingMessages& pending, std::string_view conversation, int64_t& message_count,
                        TokenCounts& tokens, int64_t& cost);
// Adds `pending` to a conversation read with its stored counters (totals and updated_at).
Status AddPending(const PendingMessages& pending, Conversation& c);

// Reads the conversation of the current row of `st` (selected with CONVSTORE_CONVERSATION_COLUMNS at `first`) with
// its counters as read: the stored ones plus its pending messages, read with another statement on `conn`.
Status ReadConversationAsRead(sqlite::Connection& conn, const sqlite::Stmt& st, int first, Conversation& c);
// The same for a conversation read with its stored counters and then all of its messages (oldest first): the
// pending ones are the last of `messages`, from position `next_position` (stored) on.
Status AddPendingOf(const std::vector<Message>& messages, int64_t next_position, Conversation& c);

// Folds the conversation's pending messages into its row; writes nothing when none are pending.
Status FoldConversation(sqlite::Connection& conn, int64_t conversation_row);
// Folds every conversation with a message whose id is above `message_id`.
Status FoldConversationsPast(sqlite::Connection& conn, int64_t message_id);
// Folds every conversation (a damaged file: no bound is trusted).
Status FoldAllConversations(sqlite::Connection& conn);
// The smallest id of any conversation's pending messages; nullopt when none is pending (an index seek per
// conversation).
Result<std::optional<int64_t>> OldestPendingMessageId(sqlite::Connection& conn);

// SQL condition on the conversations row aliased c: it has a message above the cost watermark (a superset of the
// conversations with pending messages, found by the few messages' rowids; a missing or damaged watermark reads as
// 0, and every message is looked at).
#define CONVSTORE_HAS_RECENT_MESSAGES(alias)                                                                   \
  alias ".id IN (SELECT +m.conversation_id FROM messages m WHERE m.id > coalesce((SELECT CASE WHEN"           \
  " typeof(messages_through) = 'integer' AND messages_through > 0 THEN messages_through ELSE 0 END"           \
  " FROM cost_fold), 0))"

// The SQL expression of a conversation column as read on the conversations row aliased `alias`, for readers that
// select rows in SQL (exports): for a counter (message_count, next_position, updated_at, the token totals,
// cost_nanousd) the stored value plus its pending messages; nullopt for any other column (read as stored).
std::optional<std::string> CounterAsReadSql(std::string_view column, std::string_view alias);

}  // namespace convstore::records
