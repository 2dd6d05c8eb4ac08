#include "records/expiry.h"

#include "records/conversation_counters.h"

#include "util/status_macros.h"

namespace convstore::records {

namespace {

IdleConversation ReadIdle(const sqlite::Stmt& st) {
  return IdleConversation{st.Int(0), st.String(1), st.Int(2), st.Int(3)};
}

}  // namespace

Result<std::vector<IdleConversation>> FindIdleConversations(sqlite::Connection& conn, int64_t after_row,
                                                            Micros before, int64_t limit) {
  std::vector<IdleConversation> out;
  // The stored updated_at never passes the one read (a superset: RecheckIdle decides); the count is the one read,
  // which sizes the batches.
  static const std::string sql = "SELECT id, uid, user_id, " + *CounterAsReadSql("message_count", "c") +
                                 " FROM conversations c WHERE id > ?1 AND updated_at < ?2 ORDER BY id LIMIT ?3";
  auto walked = conn.ForEachRow(
      sql.c_str(),
      "find idle conversations",
      [&](const sqlite::Stmt& st) {
        out.push_back(ReadIdle(st));
        return true;
      },
      after_row, before, limit);
  if (!walked.ok()) return walked.status();
  return out;
}

Result<std::optional<IdleConversation>> RecheckIdle(sqlite::Connection& conn, int64_t row_id, Micros before) {
  // Its newest messages count: folded into the row, which the caller then changes or deletes.
  CONVSTORE_RETURN_IF_ERROR(FoldConversation(conn, row_id));
  return conn.QueryRow(
      "SELECT id, uid, user_id, message_count FROM conversations WHERE id = ?1 AND updated_at < ?2",
      "recheck an idle conversation", ReadIdle, row_id, before);
}

Result<std::vector<int64_t>> OldestMessageIds(sqlite::Connection& conn, int64_t conversation_row, int64_t limit) {
  return conn.QueryInts("SELECT id FROM messages WHERE conversation_id = ?1 ORDER BY position LIMIT ?2",
             "find the oldest messages", conversation_row, limit);
}

Result<int64_t> CountToolCallsOfMessages(sqlite::Connection& conn, const std::vector<int64_t>& message_ids) {
  auto st = conn.Prepare("SELECT count(*) FROM tool_calls WHERE message_id = ?1");
  if (!st.ok()) return st.status();
  int64_t n = 0;
  for (int64_t id : message_ids) {
    st->Bind(1, id);
    auto row = st->Step("count tool calls");
    if (!row.ok()) return row.status();
    if (*row) n += st->Int(0);
    st->Reset();
  }
  return n;
}

Result<int64_t> CountToolCallsOfConversation(sqlite::Connection& conn, int64_t conversation_row) {
  auto n = conn.QueryInt(
      "SELECT count(*) FROM tool_calls t JOIN messages m ON m.id = t.message_id WHERE m.conversation_id = ?1",
      "count a conversation's tool calls", conversation_row);
  if (!n.ok()) return n.status();
  return n->value_or(0);
}

Status DropMessages(sqlite::Connection& conn, int64_t conversation_row, const std::vector<int64_t>& message_ids) {
  if (message_ids.empty()) return Status::OK();
  // RETURNING: what each message counted in the conversation's totals, taken out with it.
  auto drop = conn.Prepare(
      "DELETE FROM messages WHERE id = ?1 AND conversation_id = ?2 RETURNING coalesce(tokens_input, 0),"
      " coalesce(tokens_output, 0), coalesce(tokens_cached_input, 0), coalesce(tokens_reasoning, 0),"
      " coalesce(cost_nanousd, 0)");
  if (!drop.ok()) return drop.status();
  int64_t dropped = 0, sums[5] = {0, 0, 0, 0, 0};
  for (int64_t id : message_ids) {
    drop->Bind(1, id).Bind(2, conversation_row);
    auto row = drop->Step("delete an expired message");
    if (!row.ok()) return row.status();
    if (*row) {
      ++dropped;
      for (int i = 0; i < 5; ++i) sums[i] += drop->Int(i);
    }
    CONVSTORE_RETURN_IF_ERROR(drop->Run("delete an expired message"));
  }
  return conn.Run(
      "UPDATE conversations SET message_count = message_count - ?2, tokens_input = tokens_input - ?3,"
      " tokens_output = tokens_output - ?4, tokens_cached_input = tokens_cached_input - ?5,"
      " tokens_reasoning = tokens_reasoning - ?6, cost_nanousd = cost_nanousd - ?7 WHERE id = ?1",
      "update conversation counters", conversation_row, dropped, sums[0], sums[1], sums[2], sums[3], sums[4]);
}

Result<std::vector<int64_t>> FindOldApiUsage(sqlite::Connection& conn, int64_t after_row, Micros before,
                                             int64_t limit) {
  return conn.QueryInts("SELECT id FROM api_usage WHERE id > ?1 AND recorded_at < ?2 ORDER BY id LIMIT ?3",
             "find old api usage", after_row, before, limit);
}

Result<std::vector<int64_t>> RecheckOldApiUsage(sqlite::Connection& conn, const std::vector<int64_t>& row_ids,
                                                Micros before) {
  auto st = conn.Prepare("SELECT 1 FROM api_usage WHERE id = ?1 AND recorded_at < ?2");
  if (!st.ok()) return st.status();
  std::vector<int64_t> kept;
  for (int64_t id : row_ids) {
    st->Bind(1, id).Bind(2, before);
    auto row = st->Step("recheck old api usage");
    if (!row.ok()) return row.status();
    if (*row) kept.push_back(id);
    st->Reset();
  }
  return kept;
}

Status DeleteApiUsageRows(sqlite::Connection& conn, const std::vector<int64_t>& row_ids) {
  auto st = conn.Prepare("DELETE FROM api_usage WHERE id = ?1");
  if (!st.ok()) return st.status();
  for (int64_t id : row_ids) {
    st->Bind(1, id);
    CONVSTORE_RETURN_IF_ERROR(st->Run("delete expired api usage"));
  }
  return Status::OK();
}

}  // namespace convstore::records
