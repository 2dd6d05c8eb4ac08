#include "records/conversation_counters.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/status_macros.h"

namespace convstore::records {

namespace {

bool AddInto(int64_t& total, int64_t v) { return !__builtin_add_overflow(total, v, &total); }

Status TotalsOutOfRange(int64_t conversation_row) {
  return Status::Corruption(fmt::format(
      "conversation row {}: its stored totals plus its newest messages leave the 64-bit integer range (the file was "
      "changed outside convstore)",
      conversation_row));
}

// The stored counters a fold adds to.
struct StoredCounters {
  int64_t next_position = 0, message_count = 0, updated_at = 0;
  int64_t tokens_input = 0, tokens_output = 0, tokens_cached_input = 0, tokens_reasoning = 0,
          tokens_cache_write = 0, cost = 0;
};

Status FoldEach(sqlite::Connection& conn, const std::vector<int64_t>& rows) {
  for (int64_t row : rows) CONVSTORE_RETURN_IF_ERROR(FoldConversation(conn, row));
  return Status::OK();
}

}  // namespace

Result<PendingMessages> ReadPendingMessages(sqlite::Connection& conn, int64_t conversation_row,
                                            int64_t next_position) {
  // A range of the (conversation_id, position) index, then each pending row: fewer than
  // kMaxPendingPerConversation of them.
  auto row = conn.QueryRow(
      "SELECT count(*), coalesce(sum(tokens_input), 0), coalesce(sum(tokens_output), 0),"
      " coalesce(sum(tokens_cached_input), 0), coalesce(sum(tokens_reasoning), 0),"
      " coalesce(sum(tokens_cache_write), 0), coalesce(sum(cost_nanousd), 0), coalesce(max(created_at), 0),"
      " coalesce(max(position) + 1, 0) FROM messages WHERE conversation_id = ?1 AND position >= ?2",
      "read a conversation's newest messages",
      [](const sqlite::Stmt& st) {
        PendingMessages p;
        p.count = st.Int(0);
        p.tokens_input = st.Int(1);
        p.tokens_output = st.Int(2);
        p.tokens_cached_input = st.Int(3);
        p.tokens_reasoning = st.Int(4);
        p.tokens_cache_write = st.Int(5);
        p.cost = st.Int(6);
        p.newest_created_at = st.Int(7);
        p.next_position = st.Int(8);
        return p;
      },
      conversation_row, next_position);
  if (!row.ok()) return row.status();
  return row->value_or(PendingMessages{});
}

Status AddPending(const PendingMessages& p, Conversation& c) {
  if (p.count == 0) return Status::OK();
  if (!AddInto(c.message_count, p.count) || !AddInto(c.tokens.input, p.tokens_input) ||
      !AddInto(c.tokens.output, p.tokens_output) || !AddInto(c.tokens.cached_input, p.tokens_cached_input) ||
      !AddInto(c.tokens.reasoning, p.tokens_reasoning) || !AddInto(c.tokens.cache_write, p.tokens_cache_write) ||
      !AddInto(c.cost_nanousd, p.cost))
    return Status::Corruption(fmt::format(
        "conversation '{}': its stored totals plus its newest messages leave the 64-bit integer range (the file was "
        "changed outside convstore)",
        c.id));
  c.updated_at = std::max(c.updated_at, p.newest_created_at);
  return Status::OK();
}

Status AddPendingMessages(sqlite::Connection& conn, int64_t conversation_row, int64_t next_position,
                          Conversation& c) {
  auto pending = ReadPendingMessages(conn, conversation_row, next_position);
  if (!pending.ok()) return pending.status();
  return AddPending(*pending, c);
}

Status FoldConversation(sqlite::Connection& conn, int64_t conversation_row) {
  auto stored = conn.QueryRow(
      "SELECT next_position, message_count, updated_at, tokens_input, tokens_output, tokens_cached_input,"
      " tokens_reasoning, tokens_cache_write, cost_nanousd FROM conversations WHERE id = ?1",
      "read conversation counters",
      [](const sqlite::Stmt& st) {
        return StoredCounters{st.Int(0), st.Int(1), st.Int(2), st.Int(3), st.Int(4),
                              st.Int(5), st.Int(6), st.Int(7), st.Int(8)};
      },
      conversation_row);
  if (!stored.ok()) return stored.status();
  if (!*stored) return Status::OK();  // deleted with its messages
  StoredCounters k = **stored;
  auto pending = ReadPendingMessages(conn, conversation_row, k.next_position);
  if (!pending.ok()) return pending.status();
  const PendingMessages& p = *pending;
  if (p.count == 0) return Status::OK();
  if (!AddInto(k.message_count, p.count) || !AddInto(k.tokens_input, p.tokens_input) ||
      !AddInto(k.tokens_output, p.tokens_output) || !AddInto(k.tokens_cached_input, p.tokens_cached_input) ||
      !AddInto(k.tokens_reasoning, p.tokens_reasoning) || !AddInto(k.tokens_cache_write, p.tokens_cache_write) ||
      !AddInto(k.cost, p.cost))
    return TotalsOutOfRange(conversation_row);
  k.updated_at = std::max(k.updated_at, p.newest_created_at);
  k.next_position = std::max(k.next_position, p.next_position);
  return conn.Run(
      "UPDATE conversations SET next_position = ?2, message_count = ?3, updated_at = ?4, tokens_input = ?5,"
      " tokens_output = ?6, tokens_cached_input = ?7, tokens_reasoning = ?8, tokens_cache_write = ?9,"
      " cost_nanousd = ?10 WHERE id = ?1",
      "fold conversation counters", conversation_row, k.next_position, k.message_count, k.updated_at,
      k.tokens_input, k.tokens_output, k.tokens_cached_input, k.tokens_reasoning, k.tokens_cache_write, k.cost);
}

Status FoldConversationsPast(sqlite::Connection& conn, int64_t message_id) {
  auto rows = conn.QueryInts("SELECT DISTINCT conversation_id FROM messages WHERE id > ?1",
                             "find conversations with new messages", message_id);
  if (!rows.ok()) return rows.status();
  return FoldEach(conn, *rows);
}

Status FoldAllConversations(sqlite::Connection& conn) {
  auto rows = conn.QueryInts(
      "SELECT c.id FROM conversations c WHERE EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
      " AND m.position >= c.next_position)",
      "find conversations with pending messages");
  if (!rows.ok()) return rows.status();
  return FoldEach(conn, *rows);
}

Result<std::vector<int64_t>> ConversationsWithRecentMessages(sqlite::Connection& conn, int64_t user_id) {
  auto through = conn.QueryInt(
      "SELECT CASE WHEN typeof(messages_through) = 'integer' AND messages_through > 0 THEN messages_through ELSE 0"
      " END FROM cost_fold",
      "read the cost watermark");
  if (!through.ok()) return through.status();
  return conn.QueryInts(
      "SELECT DISTINCT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id"
      " WHERE m.id > ?1 AND c.user_id = ?2",
      "find conversations with new messages", through->value_or(0), user_id);
}

std::string CounterAsReadSql(std::string_view column, std::string_view alias) {
  const std::string pending =
      fmt::format("FROM messages p WHERE p.conversation_id = {0}.id AND p.position >= {0}.next_position", alias);
  if (column == "message_count") return fmt::format("({0}.message_count + (SELECT count(*) {1}))", alias, pending);
  if (column == "updated_at")
    return fmt::format("max({0}.updated_at, coalesce((SELECT max(p.created_at) {1}), {0}.updated_at))", alias,
                       pending);
  if (column == "next_position")
    return fmt::format("max({0}.next_position, coalesce((SELECT max(p.position) + 1 {1}), 0))", alias, pending);
  return fmt::format("({0}.{1} + (SELECT coalesce(sum(p.{1}), 0) {2}))", alias, column, pending);
}

}  // namespace convstore::records
