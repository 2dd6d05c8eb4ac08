#include "cost/pending.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "convstore/limits.h"
#include "cost/cost_rows.h"
#include "records/conversation_counters.h"
#include "util/logging.h"
#include "util/status_macros.h"

namespace convstore::cost {

namespace {

// Message ids stay far below this (SQLite's rowids end at 2^63 - 1): a watermark above it was not written by
// convstore, and the next id could not be chosen above it.
constexpr int64_t kMaxMessageId = int64_t{1} << 62;

// Appends a row to cost_pending; returns its seq.
Result<int64_t> InsertPending(sqlite::Connection& conn, const CostRow& r) {
  auto ins = conn.Prepare(
      "INSERT INTO cost_pending(at, user_id, team_id, model, source, role, endpoint, status, tokens_input,"
      " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) RETURNING seq");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, r.at).Bind(2, r.user_id).Bind(3, r.team_id).Bind(4, r.model).Bind(5, int64_t{r.source});
  ins->Bind(6, r.role).Bind(7, r.endpoint).Bind(8, r.status);
  for (int k = 0; k < 5; ++k) ins->Bind(9 + k, r.tokens[k]);
  ins->Bind(14, r.cost).Bind(15, r.latency_us);
  auto row = ins->Step("record pending cost row");
  if (!row.ok()) return row.status();
  const int64_t seq = *row ? ins->Int(0) : 0;
  CONVSTORE_RETURN_IF_ERROR(ins->Run("record pending cost row"));
  return seq;
}

// Reads a cost_pending row's 15 columns (at ... latency_us) starting at column c.
void ReadPendingRow(const sqlite::Stmt& st, int c, CostRow& r) {
  r.at = st.Int(c);
  r.user_id = st.Int(c + 1);
  r.team_id = st.Int(c + 2);
  r.model = st.String(c + 3);
  r.source = static_cast<int>(st.Int(c + 4));
  r.role = st.String(c + 5);
  r.endpoint = st.String(c + 6);
  r.status = st.String(c + 7);
  for (int k = 0; k < 5; ++k) r.tokens[k] = st.Int(c + 8 + k);
  r.cost = st.Int(c + 13);
  r.latency_us = st.OptInt(c + 14);
}

// Whether a pending row holds only values convstore writes.
bool ValidPendingRow(const CostRow& r) {
  bool ok = r.at >= 0 && r.at <= limits::kMaxTimestampUs && (r.source == kSourceMessage || r.source == kSourceApi) &&
            r.cost >= 0 && r.cost <= limits::kMaxCostNanoUsd &&
            (!r.latency_us || (*r.latency_us >= 0 && *r.latency_us <= limits::kMaxLatencyUs));
  for (int64_t t : r.tokens) ok = ok && t >= 0 && t <= limits::kMaxTokenCount;
  return ok;
}

Status DamagedPendingRow(const char* where) {
  return Status::Corruption(fmt::format(
      "{} holds a row with values convstore never writes (negative or beyond the limits): the file was changed "
      "outside convstore; verify_rollups shows the damage and rebuild_rollups repairs it",
      where));
}

// Every cost_pending row with its seq, oldest first.
Result<std::vector<std::pair<int64_t, CostRow>>> PendingWithSeq(sqlite::Connection& conn) {
  std::vector<std::pair<int64_t, CostRow>> rows;
  auto st = conn.Prepare(
      "SELECT seq, at, user_id, team_id, model, source, role, endpoint, status, tokens_input, tokens_output,"
      " tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us FROM cost_pending"
      " ORDER BY seq");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step("read pending cost rows");
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    ReadPendingRow(*st, 1, rows.emplace_back(st->Int(0), CostRow{}).second);
  }
}

}  // namespace

Status VisitCostPendingTable(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit) {
  auto st = conn.Prepare(
      "SELECT at, user_id, team_id, model, source, role, endpoint, status, tokens_input, tokens_output,"
      " tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us FROM cost_pending");
  if (!st.ok()) return st.status();
  CostRow r;
  for (;;) {
    auto row = st->Step("read pending cost rows");
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    ReadPendingRow(*st, 0, r);
    if (!ValidPendingRow(r)) return DamagedPendingRow("cost_pending");
    visit(r);
  }
}

namespace {

// The watermark and the newest message id, in one query. kCorruption when cost_fold holds no usable watermark.
struct Watermark {
  int64_t through = 0;  // the largest message id the rollups count
  int64_t newest = 0;   // the largest message id there is (0: none)
  int64_t span() const { return std::max<int64_t>(0, newest - through); }
};

Status UnusableWatermark() {
  return Status::Corruption(
      "cost_fold holds no usable watermark (missing, negative or beyond any message id): the file was changed "
      "outside convstore; rebuild_rollups repairs it");
}

Result<Watermark> ReadWatermark(sqlite::Connection& conn) {
  auto row = conn.QueryRow(
      "SELECT messages_through, (SELECT coalesce(max(id), 0) FROM messages) FROM cost_fold", "read the cost watermark",
      [](const sqlite::Stmt& st) { return Watermark{st.Int(0), st.Int(1)}; });
  if (!row.ok()) return row.status();
  if (!*row || (*row)->through < 0 || (*row)->through > kMaxMessageId) return UnusableWatermark();
  return **row;
}

// The messages past the watermark as cost rows, oldest first, each checked.
Status VisitMessagesPast(sqlite::Connection& conn, int64_t through, const std::function<void(const CostRow&)>& visit) {
  auto st = conn.Prepare("SELECT " CONVSTORE_MESSAGE_COST_COLUMNS
                         " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id > ?1"
                         " ORDER BY m.id");
  if (!st.ok()) return st.status();
  st->Bind(1, through);
  CostRow r;
  for (;;) {
    auto row = st->Step("read pending messages");
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    r = CostRow{};
    ReadMessageCostRow(*st, 0, r);
    if (!ValidPendingRow(r)) return DamagedPendingRow("a message past the cost watermark (cost_fold)");
    visit(r);
  }
}

// Moves the watermark from `from` to `to`. The conversations with messages past `from` are folded first: a
// conversation's pending messages must stay above the watermark, where listings look for them
// (records/conversation_counters.h).
Status MoveWatermark(sqlite::Connection& conn, int64_t from, int64_t to) {
  CONVSTORE_RETURN_IF_ERROR(records::FoldConversationsPast(conn, from));
  return conn.Run("UPDATE cost_fold SET messages_through = ?1", "move the cost watermark", to);
}

// Folds cost_pending and, with `watermark` (read by the caller), the messages past it (then moves it to the newest
// message).
Status Merge(sqlite::Connection& conn, const std::optional<Watermark>& watermark) {
  const int64_t through = watermark ? watermark->through : 0, newest = watermark ? watermark->newest : 0;
  const bool move = watermark && newest > through;
  // Inside a savepoint: if a day's totals would leave the int64 range, the write that triggered the fold (which
  // may belong to another user and day) must not fail. Then the rows are folded one at a time and those that do
  // not fit stay pending (every reader still counts them, and reports kTooLarge for such a day).
  CONVSTORE_RETURN_IF_ERROR(conn.Exec("SAVEPOINT convstore_merge", "begin merge"));
  Status merged = [&]() -> Status {
    RollupDelta delta;
    auto add = [&](const CostRow& r) { delta.Add(r, +1); };
    CONVSTORE_RETURN_IF_ERROR(VisitCostPendingTable(conn, add));
    if (move) CONVSTORE_RETURN_IF_ERROR(VisitMessagesPast(conn, through, add));
    CONVSTORE_RETURN_IF_ERROR(ApplyDelta(conn, delta));
    CONVSTORE_RETURN_IF_ERROR(conn.Exec("DELETE FROM cost_pending", "empty pending cost rows"));
    return move ? MoveWatermark(conn, through, newest) : Status::OK();
  }();
  if (merged.ok()) return conn.Exec("RELEASE convstore_merge", "end merge");
  if (merged.code() != Code::kTooLarge) return merged;  // the caller's transaction is rolled back
  CONVSTORE_RETURN_IF_ERROR(conn.Exec("ROLLBACK TO convstore_merge", "undo merge"));
  auto rows = PendingWithSeq(conn);
  if (!rows.ok()) return rows.status();
  std::vector<CostRow> past;
  if (move) CONVSTORE_RETURN_IF_ERROR(VisitMessagesPast(conn, through, [&](const CostRow& r) { past.push_back(r); }));
  auto drop = conn.Prepare("DELETE FROM cost_pending WHERE seq = ?1");
  if (!drop.ok()) return drop.status();
  int64_t stuck = 0;
  // Folds one row; false when it does not fit (nothing changed).
  auto fold_one = [&](const CostRow& r, int64_t seq) -> Result<bool> {
    RollupDelta one;
    one.Add(r, +1);
    CONVSTORE_RETURN_IF_ERROR(conn.Exec("SAVEPOINT convstore_merge_row", "begin merge"));
    Status s = ApplyDelta(conn, one);
    if (s.ok() && seq != 0) s = drop->Bind(1, seq).Run("fold pending cost row");
    if (s.code() == Code::kTooLarge) {
      CONVSTORE_RETURN_IF_ERROR(conn.Exec("ROLLBACK TO convstore_merge_row; RELEASE convstore_merge_row", "undo"));
      return false;
    }
    if (!s.ok()) return s;
    CONVSTORE_RETURN_IF_ERROR(conn.Exec("RELEASE convstore_merge_row", "end merge"));
    return true;
  };
  for (const auto& [seq, r] : *rows) {
    auto folded = fold_one(r, seq);
    if (!folded.ok()) return folded.status();
    if (!*folded) ++stuck;
  }
  // A message that does not fit stays pending as a cost_pending row, so the watermark can pass it.
  for (const CostRow& r : past) {
    auto folded = fold_one(r, 0);
    if (!folded.ok()) return folded.status();
    if (*folded) continue;
    ++stuck;
    CONVSTORE_RETURN_IF_ERROR(AppendPending(conn, r));
  }
  if (move) CONVSTORE_RETURN_IF_ERROR(MoveWatermark(conn, through, newest));
  util::Logger().warn("cost rollups: a day's totals would leave the 64-bit integer range; {} of {} rows stay pending",
                      stuck, rows->size() + past.size());
  return conn.Exec("RELEASE convstore_merge", "end merge");
}

}  // namespace

Result<MessageIdRange> NextMessageIds(sqlite::Connection& conn) {
  auto w = ReadWatermark(conn);
  if (!w.ok()) return w.status();
  return MessageIdRange{w->through, std::max(w->through, w->newest) + 1};
}

Status MessagesAdded(sqlite::Connection& conn, const MessageIdRange& ids, int64_t last_id) {
  if (last_id - ids.folded_through < kPendingMergeRows) return Status::OK();
  return MergePending(conn);
}

Result<int64_t> PendingMessageSpan(sqlite::Connection& conn) {
  auto w = ReadWatermark(conn);
  if (!w.ok()) return w.status();
  return w->span();
}

Status FoldPendingMessages(sqlite::Connection& conn) {
  auto w = ReadWatermark(conn);
  if (!w.ok()) return w.status();
  return w->span() > 0 ? Merge(conn, *w) : Status::OK();
}

Status MarkMessagesCounted(sqlite::Connection& conn) {
  auto w = ReadWatermark(conn);
  if (!w.ok()) return w.status();
  return w->span() > 0 ? MoveWatermark(conn, w->through, w->newest) : Status::OK();
}

Status AppendPending(sqlite::Connection& conn, const CostRow& row) { return InsertPending(conn, row).status(); }

Status RecordCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows) {
  if (!RollupsEnabled() || rows.empty()) return Status::OK();
  if (rows.size() > kMaxPendingBatch) {  // a batch: one delta straight into the rollups
    RollupDelta delta;
    for (const CostRow& r : rows) delta.Add(r, +1);
    return ApplyDelta(conn, delta);
  }
  int64_t first = 0, last = 0;
  for (const CostRow& r : rows) {
    auto seq = InsertPending(conn, r);
    if (!seq.ok()) return seq.status();
    last = *seq;
    if (first == 0) first = last;
  }
  // seq restarts at 1 once the table is emptied, so it counts the rows pending. Fold when these rows reached or
  // passed a multiple of kPendingMergeRows: a batch adds several at once and may step over the multiple itself.
  if (first <= 0 || (first - 1) / kPendingMergeRows == last / kPendingMergeRows) return Status::OK();
  return MergePending(conn);
}

Status VisitPendingMessages(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit) {
  auto w = ReadWatermark(conn);
  if (!w.ok()) return w.status();
  return VisitMessagesPast(conn, w->through, visit);
}

Status VisitPendingRows(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit) {
  CONVSTORE_RETURN_IF_ERROR(VisitCostPendingTable(conn, visit));
  return VisitPendingMessages(conn, visit);
}

Status MergePending(sqlite::Connection& conn) {
  auto w = ReadWatermark(conn);
  if (!w.ok()) return w.status();
  return Merge(conn, *w);
}

Status MergePendingTable(sqlite::Connection& conn) { return Merge(conn, std::nullopt); }

Result<bool> FoldDue(sqlite::Connection& conn) {
  auto st = conn.Prepare("SELECT count(*) >= ?1 FROM cost_pending");
  if (!st.ok()) return st.status();
  st->Bind(1, kPendingMergeRows);
  auto row = st->Step("count pending cost rows");
  if (!row.ok()) return row.status();
  const bool due = *row && st->Int(0) != 0;
  st->Reset();
  auto w = ReadWatermark(conn);
  if (!w.ok()) return w.status();
  return due || w->span() >= kPendingMergeRows;
}

Status FoldIfDue(sqlite::Connection& conn) {
  auto due = FoldDue(conn);
  if (!due.ok()) return due.status();
  return *due ? MergePending(conn) : Status::OK();
}

Status RemoveCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows, RollupDelta& delta) {
  if (rows.empty()) return Status::OK();
  CONVSTORE_RETURN_IF_ERROR(FoldPendingMessages(conn));
  auto read = PendingWithSeq(conn);  // fewer than kPendingMergeRows rows, normally
  if (!read.ok()) return read.status();
  auto& pending = *read;
  auto drop = conn.Prepare("DELETE FROM cost_pending WHERE seq = ?1");
  if (!drop.ok()) return drop.status();
  for (const CostRow& r : rows) {
    auto it = pending.empty() ? pending.end()
                              : std::find_if(pending.begin(), pending.end(),
                                             [&](const auto& p) { return p.first != 0 && p.second == r; });
    if (it == pending.end()) {
      delta.Add(r, -1);
      continue;
    }
    CONVSTORE_RETURN_IF_ERROR(drop->Bind(1, it->first).Run("remove a pending cost row"));
    it->first = 0;  // used
  }
  return Status::OK();
}

}  // namespace convstore::cost
