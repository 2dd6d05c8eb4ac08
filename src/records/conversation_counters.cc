#include "records/conversation_counters.h"

#include <algorithm>

#include <fmt/format.h>

#include "records/rows.h"
#include "util/status_macros.h"

namespace convstore::records {

namespace {

bool AddInto(int64_t& total, int64_t v) { return !__builtin_add_overflow(total, v, &total); }

Status FoldEach(sqlite::Connection& conn, const std::vector<int64_t>& rows) {
  for (int64_t row : rows) CONVSTORE_RETURN_IF_ERROR(FoldConversation(conn, row));
  return Status::OK();
}

}  // namespace

Result<PendingMessages> ReadPendingMessages(sqlite::Connection& conn, int64_t conversation_row,
                                            int64_t next_position) {
  // A range of the (conversation_id, position) index, then each pending row: fewer than
  // kMaxPendingPerConversation of them.
  auto row = conn.QueryRow("SELECT " CONVSTORE_PENDING_COLUMNS " FROM messages p WHERE p.conversation_id = ?1"
                           " AND p.position >= ?2",
                           "read a conversation's newest messages",
                           [](const sqlite::Stmt& st) { return PendingOf(st, 0); }, conversation_row, next_position);
  if (!row.ok()) return row.status();
  return row->value_or(PendingMessages{});
}

PendingMessages PendingOf(const sqlite::Stmt& st, int first) {
  return PendingMessages{st.Int(first),
                         {st.Int(first + 1), st.Int(first + 2), st.Int(first + 3), st.Int(first + 4),
                          st.Int(first + 5)},
                         st.Int(first + 6),
                         st.Int(first + 7),
                         st.Int(first + 8)};
}

Status AddPendingTotals(const PendingMessages& p, std::string_view conversation, int64_t& message_count,
                        TokenCounts& tokens, int64_t& cost) {
  if (!AddInto(message_count, p.count) || !AddInto(tokens.input, p.tokens.input) ||
      !AddInto(tokens.output, p.tokens.output) || !AddInto(tokens.cached_input, p.tokens.cached_input) ||
      !AddInto(tokens.cache_write, p.tokens.cache_write) || !AddInto(tokens.reasoning, p.tokens.reasoning) ||
      !AddInto(cost, p.cost))
    return Status::Corruption(fmt::format(
        "conversation '{}': its stored totals plus its newest messages leave the 64-bit integer range (the file was "
        "changed outside convstore)",
        conversation));
  return Status::OK();
}

Status AddPending(const PendingMessages& p, Conversation& c) {
  if (p.count == 0) return Status::OK();
  CONVSTORE_RETURN_IF_ERROR(AddPendingTotals(p, c.id, c.message_count, c.tokens, c.cost_nanousd));
  c.updated_at = std::max(c.updated_at, p.newest_created_at);
  return Status::OK();
}

Status ReadConversationAsRead(sqlite::Connection& conn, const sqlite::Stmt& st, int first, Conversation& c) {
  ReadConversation(st, first, c);
  const StoredRow stored = StoredRowOf(st, first);
  auto pending = ReadPendingMessages(conn, stored.row_id, stored.next_position);
  if (!pending.ok()) return pending.status();
  return AddPending(*pending, c);
}

Status AddPendingOf(const std::vector<Message>& messages, int64_t next_position, Conversation& c) {
  PendingMessages p;
  for (auto m = messages.rbegin(); m != messages.rend() && m->position >= next_position; ++m) {
    const PendingMessages one{1,  // the message's values as the SQL sums count them (NULL as 0)
                              {m->tokens_input.value_or(0), m->tokens_output.value_or(0),
                               m->tokens_cached_input.value_or(0), m->tokens_cache_write.value_or(0),
                               m->tokens_reasoning.value_or(0)},
                              m->cost_nanousd.value_or(0)};
    CONVSTORE_RETURN_IF_ERROR(AddPendingTotals(one, c.id, p.count, p.tokens, p.cost));
    p.newest_created_at = std::max(p.newest_created_at, m->created_at);
  }
  return AddPending(p, c);
}

Status FoldConversation(sqlite::Connection& conn, int64_t conversation_row) {
  Conversation c;
  int64_t next_position = 0;
  auto stored = conn.QueryRow(
      "SELECT uid, next_position, message_count, updated_at, tokens_input, tokens_output, tokens_cached_input,"
      " tokens_cache_write, tokens_reasoning, cost_nanousd FROM conversations WHERE id = ?1",
      "read conversation counters",
      [&](const sqlite::Stmt& st) {
        c.id = st.String(0);
        next_position = st.Int(1);
        c.message_count = st.Int(2);
        c.updated_at = st.Int(3);
        c.tokens = {st.Int(4), st.Int(5), st.Int(6), st.Int(7), st.Int(8)};
        c.cost_nanousd = st.Int(9);
        return true;
      },
      conversation_row);
  if (!stored.ok()) return stored.status();
  if (!*stored) return Status::OK();  // deleted with its messages
  auto pending = ReadPendingMessages(conn, conversation_row, next_position);
  if (!pending.ok()) return pending.status();
  if (pending->count == 0) return Status::OK();
  CONVSTORE_RETURN_IF_ERROR(AddPending(*pending, c));
  return conn.Run(
      "UPDATE conversations SET next_position = ?2, message_count = ?3, updated_at = ?4, tokens_input = ?5,"
      " tokens_output = ?6, tokens_cached_input = ?7, tokens_cache_write = ?8, tokens_reasoning = ?9,"
      " cost_nanousd = ?10 WHERE id = ?1",
      "fold conversation counters", conversation_row, std::max(next_position, pending->next_position),
      c.message_count, c.updated_at, c.tokens.input, c.tokens.output, c.tokens.cached_input, c.tokens.cache_write,
      c.tokens.reasoning, c.cost_nanousd);
}

Status FoldConversationsPast(sqlite::Connection& conn, int64_t message_id) {
  // `+` keeps the planner on the rowid range: for DISTINCT it prefers a scan of the whole (conversation_id,
  // position) index.
  auto rows = conn.QueryInts("SELECT DISTINCT +conversation_id FROM messages WHERE id > ?1",
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

Result<std::optional<int64_t>> OldestPendingMessageId(sqlite::Connection& conn) {
  auto row = conn.QueryRow(
      "SELECT min(m.id) FROM conversations c JOIN messages m ON m.conversation_id = c.id"
      " AND m.position >= c.next_position",
      "find the oldest pending message", [](const sqlite::Stmt& st) { return st.OptInt(0); });
  if (!row.ok()) return row.status();
  return row->value_or(std::nullopt);
}


std::optional<std::string> CounterAsReadSql(std::string_view column, std::string_view alias) {
  const std::string pending =
      fmt::format("FROM messages p WHERE p.conversation_id = {0}.id AND p.position >= {0}.next_position", alias);
  if (column == "message_count") return fmt::format("({0}.message_count + (SELECT count(*) {1}))", alias, pending);
  if (column == "updated_at")
    return fmt::format("max({0}.updated_at, coalesce((SELECT max(p.created_at) {1}), {0}.updated_at))", alias,
                       pending);
  if (column == "next_position")
    return fmt::format("max({0}.next_position, coalesce((SELECT max(p.position) + 1 {1}), 0))", alias, pending);
  for (std::string_view summed : {"tokens_input", "tokens_output", "tokens_cached_input", "tokens_cache_write",
                                  "tokens_reasoning", "cost_nanousd"})
    if (column == summed)
      return fmt::format("({0}.{1} + (SELECT coalesce(sum(p.{1}), 0) {2}))", alias, column, pending);
  return std::nullopt;
}

}  // namespace convstore::records
