#include "fault_checks.h"

#include "test_util.h"

#include <sqlite3.h>

#include <stdexcept>

namespace fault_check {

RawDb::RawDb(const std::string& path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    error_ = "cannot open '" + path + "': " + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    return;
  }
  sqlite3_busy_timeout(db_, 5000);
}

RawDb::~RawDb() { sqlite3_close(db_); }

std::vector<std::string> RawDb::Column(const std::string& sql, const std::vector<std::string>& params) {
  if (db_ == nullptr) throw std::runtime_error(error_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string err = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    throw std::runtime_error("prepare `" + sql + "`: " + err);
  }
  for (size_t i = 0; i < params.size(); ++i)
    sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    out.emplace_back(text != nullptr ? text : "NULL");
  }
  if (rc != SQLITE_DONE) {
    std::string err = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    throw std::runtime_error("step `" + sql + "`: " + err);
  }
  sqlite3_finalize(st);
  return out;
}

int64_t RawDb::Int(const std::string& sql, const std::vector<std::string>& params) {
  auto rows = Column(sql, params);
  if (rows.empty() || rows[0] == "NULL") return -1;
  return std::stoll(rows[0]);
}

std::string IntegrityCheck(RawDb& db) {
  try {
    auto rows = db.Column("PRAGMA integrity_check");
    std::string out;
    for (const auto& r : rows) out += (out.empty() ? "" : "; ") + r;
    return out;
  } catch (const std::exception& e) {
    return std::string("integrity_check failed to run: ") + e.what();
  }
}

std::vector<std::string> CheckInvariants(RawDb& db) {
  std::vector<std::string> problems;
  try {
    // foreign_key_check returns (table, rowid, parent, fkid) rows; the first column suffices to report.
    for (const auto& t : db.Column("PRAGMA foreign_key_check"))
      problems.push_back("foreign_key_check: dangling reference in table " + t);

    // Counters against a recount: the count of stored messages; tokens and cost of stored and deleted ones
    // (tombstones keep what was spent); next_position above every position.
    const std::string kCounters = std::string(
        "SELECT c.uid || ': stored count=' || c.message_count || ' next_position=' || c.next_position"
        " || ' tokens=' || c.tokens_input || '/' || c.tokens_output || '/' || c.tokens_cached_input || '/'"
        " || c.tokens_reasoning || ' cost=' || c.cost_nanousd"
        " || ' | recount count=' || r.n || ' max position=' || r.maxpos || ' tokens=' || r.ti || '/' || r.tout"
        " || '/' || r.tc || '/' || r.tr || ' cost=' || r.cost"
        " FROM ") + convstore::testing::kConversationsAsRead + " c JOIN ("
        "   SELECT c2.id AS cid, sum(x.live) AS n, coalesce(max(CASE WHEN x.live THEN x.position END), -1) AS maxpos,"
        "          coalesce(sum(x.tokens_input), 0) AS ti, coalesce(sum(x.tokens_output), 0) AS tout,"
        "          coalesce(sum(x.tokens_cached_input), 0) AS tc, coalesce(sum(x.tokens_reasoning), 0) AS tr,"
        "          coalesce(sum(x.cost_nanousd), 0) AS cost"
        "   FROM conversations c2 LEFT JOIN ("
        "     SELECT conversation_id, 1 AS live, position, tokens_input, tokens_output, tokens_cached_input,"
        "            tokens_reasoning, cost_nanousd FROM messages"
        "     UNION ALL SELECT conversation_id, 0, position, tokens_input, tokens_output, tokens_cached_input,"
        "            tokens_reasoning, cost_nanousd FROM message_tombstones) x ON x.conversation_id = c2.id"
        "   GROUP BY c2.id) r"
        " ON r.cid = c.id"
        " WHERE c.message_count != coalesce(r.n, 0) OR c.next_position <= r.maxpos OR c.tokens_input != r.ti"
        "    OR c.tokens_output != r.tout OR c.tokens_cached_input != r.tc OR c.tokens_reasoning != r.tr"
        "    OR c.cost_nanousd != r.cost";
    for (const auto& row : db.Column(kCounters)) problems.push_back("counters differ from a recount: " + row);

    // A conversation's pending messages (at or past its stored next_position): fewer than 32, numbered on from the
    // stored next_position without a gap (a writer that deletes folds first), all above the cost watermark (where
    // listings look for them).
    const char* kPending =
        "SELECT c.uid || ': ' || count(*) || ' pending messages at ' || c.next_position || '..' || max(m.position)"
        " || ', lowest id ' || min(m.id) || ', watermark ' || (SELECT messages_through FROM cost_fold)"
        " FROM conversations c JOIN messages m ON m.conversation_id = c.id AND m.position >= c.next_position"
        " GROUP BY c.id HAVING count(*) >= 32 OR max(m.position) - c.next_position + 1 != count(*)"
        "   OR min(m.id) <= (SELECT messages_through FROM cost_fold)";
    for (const auto& row : db.Column(kPending)) problems.push_back("pending messages out of bounds: " + row);

    // Positions: distinct and non-negative (deletes leave gaps; no position is used twice, tombstones included).
    const char* kPositions =
        "SELECT c.uid || ': ' || count(*) || ' messages and tombstones, ' || count(DISTINCT x.position)"
        " || ' distinct positions, min ' || min(x.position)"
        " FROM conversations c JOIN (SELECT conversation_id, position FROM messages"
        "   UNION ALL SELECT conversation_id, position FROM message_tombstones) x ON x.conversation_id = c.id"
        " GROUP BY c.id HAVING count(DISTINCT x.position) != count(*) OR min(x.position) < 0";
    for (const auto& row : db.Column(kPositions)) problems.push_back("positions are duplicated: " + row);

    // Cost rollups (plus rows pending: cost_pending's and the messages past the watermark) count every message
    // (stored or tombstoned) and API-usage row, and their cost, exactly once — with what retention removed, kept
    // in cost_retained. Fewer than 256 message ids lie past the watermark.
    const char* kRollups =
        "WITH raw AS (SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM message_tombstones)"
        "   + (SELECT count(*) FROM api_usage) AS n,"
        "   (SELECT coalesce(sum(cost_nanousd), 0) FROM messages) + (SELECT coalesce(sum(cost_nanousd), 0)"
        "   FROM message_tombstones) + (SELECT coalesce(sum(cost_nanousd), 0) FROM api_usage) AS cost),"
        " retained AS (SELECT coalesce(sum(count), 0) AS n, coalesce(sum(cost_nanousd), 0) AS cost"
        "   FROM cost_retained),"
        " pending AS (SELECT count(*) AS n, coalesce(sum(cost_nanousd), 0) AS cost FROM (SELECT cost_nanousd"
        "   FROM cost_pending UNION ALL SELECT cost_nanousd FROM messages"
        "   WHERE id > (SELECT messages_through FROM cost_fold))),"
        " totals AS (SELECT coalesce(sum(count), 0) AS n, coalesce(sum(cost_nanousd), 0) AS cost FROM cost_totals"
        "   WHERE scope = 0),"
        " fine AS (SELECT coalesce(sum(count), 0) AS n, coalesce(sum(cost_nanousd), 0) AS cost FROM cost_rollups)"
        " SELECT 'raw+retained ' || (raw.n + retained.n) || '/' || (raw.cost + retained.cost) || ', totals+pending '"
        "   || (totals.n + pending.n) || '/' || (totals.cost + pending.cost) || ', rollups+pending '"
        "   || (fine.n + pending.n) || '/' || (fine.cost + pending.cost) FROM raw, retained, pending, totals, fine"
        " WHERE totals.n + pending.n != raw.n + retained.n OR totals.cost + pending.cost != raw.cost + retained.cost"
        "    OR fine.n + pending.n != raw.n + retained.n OR fine.cost + pending.cost != raw.cost + retained.cost";
    for (const auto& row : db.Column(kRollups)) problems.push_back("cost rollups differ from the raw rows: " + row);
    const char* kWatermark =
        "SELECT 'the cost watermark is ' || coalesce((SELECT messages_through FROM cost_fold), 'missing') ||"
        " ' with the newest message at ' || (SELECT coalesce(max(id), 0) FROM messages) FROM (SELECT 1)"
        " WHERE (SELECT count(*) FROM cost_fold) != 1 OR (SELECT coalesce(max(id), 0) FROM messages)"
        "   - (SELECT messages_through FROM cost_fold) >= 256";
    for (const auto& row : db.Column(kWatermark)) problems.push_back(row);

    // The audit chain: consecutive sequence numbers, each entry linked to the one before (VerifyAudit recomputes
    // the hashes; a fault may lose a whole transaction, never half of an entry or a link).
    const char* kAuditLinks =
        "SELECT 'audit entry ' || a.seq || ' does not link to entry ' || (a.seq - 1) FROM audit_log a"
        " JOIN audit_log b ON b.seq = a.seq - 1 WHERE a.prev_hash != b.hash"
        " UNION ALL SELECT 'audit entries are not consecutive: ' || count(*) || ' from ' || min(seq) || ' to ' ||"
        " max(seq) FROM audit_log HAVING count(*) > 0 AND count(*) != max(seq) - min(seq) + 1";
    for (const auto& row : db.Column(kAuditLinks)) problems.push_back(row);

    // Metadata index: every posting list's stored count equals its entries, and the list of every document holds
    // exactly the indexed rows (those up to the watermark, less the oversized ones).
    const char* kPostingCounts =
        "SELECT kind || ':' || term FROM metadata_postings GROUP BY kind, term"
        " HAVING sum(length(entries)) / 16 != coalesce(max(CASE WHEN at = 9223372036854775807 THEN n END), -1)";
    for (const auto& row : db.Column(kPostingCounts)) problems.push_back("posting list count is off: " + row);
    const char* kEveryDocument =
        "WITH t(kind, rows) AS ("
        "   SELECT 0, (SELECT count(*) FROM conversations WHERE id <= coalesce("
        "     (SELECT indexed_upto FROM metadata_index WHERE kind = 0), 0))"
        "   UNION ALL SELECT 1, (SELECT count(*) FROM messages WHERE id <= coalesce("
        "     (SELECT indexed_upto FROM metadata_index WHERE kind = 1), 0))"
        "   UNION ALL SELECT 2, (SELECT count(*) FROM api_usage WHERE id <= coalesce("
        "     (SELECT indexed_upto FROM metadata_index WHERE kind = 2), 0)))"
        " SELECT 'kind ' || t.kind || ': rows ' || t.rows || ', unindexed ' || u.n || ', listed ' || coalesce(p.n, 0)"
        " FROM t JOIN (SELECT k.kind, (SELECT count(*) FROM metadata_unindexed x WHERE x.kind = k.kind) AS n"
        "              FROM (SELECT 0 AS kind UNION ALL SELECT 1 UNION ALL SELECT 2) k) u ON u.kind = t.kind"
        " LEFT JOIN metadata_postings p ON p.kind = t.kind AND p.term = '' AND p.at = 9223372036854775807"
        " AND p.obj = 0 WHERE t.rows - u.n != coalesce(p.n, 0)";
    for (const auto& row : db.Column(kEveryDocument)) problems.push_back("metadata index misses rows: " + row);
  } catch (const std::exception& e) {
    problems.push_back(std::string("invariant queries failed: ") + e.what());
  }
  return problems;
}

}  // namespace fault_check
