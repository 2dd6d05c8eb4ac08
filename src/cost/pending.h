// Pending cost rows: what the rollups do not count yet, and the fold that counts it.
//
// A write adds no rollup row of its own. What it spent is pending until a fold adds it to cost_rollups and
// cost_totals, in the transaction of whichever write makes the pending rows reach kPendingMergeRows. Pending are:
//
//   messages past the watermark   every message whose id is above cost_fold.messages_through. A message is its own
//                                 pending cost row, so adding one writes nothing for the rollups at all; its id is
//                                 chosen above the watermark (NextMessageIds) even when the newest messages were
//                                 deleted after a fold;
//   cost_pending                  API usage rows (a few per write), and rows a fold could not add because a day's
//                                 sum would leave the int64 range (they stay pending; readers report kTooLarge).
//
// Readers add the pending rows (fewer than kPendingMergeRows of each kind) to what they read from the rollups, so
// rollups + pending always equal the raw rows. Deleting a message or changing its cost changes what is pending, so
// every writer that does so folds the pending messages first (FoldPendingMessages), in its transaction.
//
// Not thread-safe: each function runs on the connection of the caller's transaction.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "cost/rollups.h"
#include "sqlite/connection.h"

namespace convstore::cost {

// Fold when this many rows are pending in cost_pending, or this many message ids lie past the watermark.
inline constexpr int64_t kPendingMergeRows = 256;
// A write of more API usage rows than this applies them to the rollups directly.
inline constexpr size_t kMaxPendingBatch = 16;

// The watermark is the largest message id the rollups count; every function reading it returns kCorruption when
// cost_fold holds no usable value.

// Where the next messages' ids start: above every message id and above the watermark. Messages inserted with
// `next_id` (and the ids after it, for a batch) are pending until the next fold.
struct MessageIdRange {
  int64_t folded_through = 0;  // the watermark
  int64_t next_id = 1;
};
Result<MessageIdRange> NextMessageIds(sqlite::Connection& conn);

// After messages up to `last_id` were inserted with ids from `ids`: folds when kPendingMergeRows or more message ids
// lie past the watermark.
Status MessagesAdded(sqlite::Connection& conn, const MessageIdRange& ids, int64_t last_id);

// Folds the pending messages, if any, before the caller deletes messages or changes their cost.
Status FoldPendingMessages(sqlite::Connection& conn);

// Moves the watermark past every message without counting them: for a writer that inserted messages and counts
// their cost rows itself (an import). Call FoldPendingMessages before inserting.
Status MarkMessagesCounted(sqlite::Connection& conn);

// Counts newly written API usage rows: a few (at most kMaxPendingBatch) go to cost_pending, folded whenever its
// rows reach a multiple of kPendingMergeRows; a larger batch is applied to the rollups directly.
Status RecordCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows);
// Appends one row to cost_pending, without folding.
Status AppendPending(sqlite::Connection& conn, const CostRow& row);

// Folds every pending row into the rollups: cost_pending is emptied and the watermark moves to the newest message.
// A row whose rollup or total would leave the int64 range stays pending (a message's as a cost_pending row);
// nothing fails for it.
Status MergePending(sqlite::Connection& conn);
// The same for cost_pending alone: for migrations that run before the watermark exists.
Status MergePendingTable(sqlite::Connection& conn);
// Folds when either kind of pending row has reached kPendingMergeRows (after a delete or reprice, rows whose day
// passed the int64 range may fit again).
Status FoldIfDue(sqlite::Connection& conn);
// Whether FoldIfDue would fold.
Result<bool> FoldDue(sqlite::Connection& conn);

// Every pending row, as counted (+1 each): cost_pending's (VisitCostPendingTable), then the messages past the
// watermark (VisitPendingMessages). A row holding values convstore never writes (negative, beyond the per-row
// limits) is kCorruption.
Status VisitPendingRows(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit);
Status VisitCostPendingTable(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit);
Status VisitPendingMessages(sqlite::Connection& conn, const std::function<void(const CostRow&)>& visit);

// The number of message ids past the watermark (an upper bound of the messages pending).
Result<int64_t> PendingMessageSpan(sqlite::Connection& conn);

// Takes rows out of the counts (a delete, or the old side of a reprice). Pending messages are folded first; then a
// row still pending in cost_pending is removed from it (an identical pending row stands for it), the others go
// into `delta` with sign -1 — so a stored rollup or total never falls below zero. The caller applies `delta`.
Status RemoveCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows, RollupDelta& delta);

}  // namespace convstore::cost
