// WriteQueue: serialises writes on the writer connection and group-commits concurrent ones.
//
// Each caller submits a PendingWrite and blocks. The caller at the head of the queue becomes the leader: it takes
// the queued writes (up to kMaxGroup), runs them in one BEGIN IMMEDIATE transaction — each inside its own savepoint,
// so a write that fails is rolled back alone — commits once, and wakes the others. A write is acknowledged only
// after the commit that contains it succeeded. With a single writer thread every write is its own transaction.
// (After LevelDB's DBImpl::Write writer queue.)
//
// Thread-safe.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::sqlite {

struct PendingWrite {
  // Runs inside the transaction. A non-OK status means "roll my changes back" (the others still commit).
  std::function<Status(sqlite::Connection&)> body;
  // Runs in a transaction of its own: a group ends before it (for a write whose transaction is marked as a whole,
  // such as an erasure's redacted journal entry).
  bool alone = false;
  // Set by the leader: the body's error, or the outcome of the commit.
  Status status;
  bool done = false;
  std::condition_variable cv;
};

class WriteQueue {
 public:
  static constexpr size_t kMaxGroup = 128;

  // `conn` is guarded by `conn_mu`, which the leader holds while it runs a group.
  WriteQueue(sqlite::Connection* conn, std::mutex* conn_mu) : conn_(conn), conn_mu_(conn_mu) {}

  // Blocks until `w` has been committed (OK) or has failed; returns w.status.
  Status Submit(PendingWrite& w);

  // Runs `group` in one transaction now and sets each member's status. The caller holds `conn_mu`.
  // (Submit's leader calls it; public so tests can form a group deterministically.)
  void RunGroup(const std::vector<PendingWrite*>& group);
  // The writer's page-cache use in the groups run since the last call (then zeroed). Any thread.
  CacheUse TakeCacheUse() noexcept { return cache_.Take(); }
  // Called on the connection, outside any transaction, after a group in which a write failed (its changes rolled
  // back): for state a virtual table keeps in memory beyond a rollback (src/search/text_index.h). It returns
  // whether it succeeded; if not, it is called again before the next group. Set before the first Submit; must
  // not throw.
  void SetAfterFailure(std::function<bool(sqlite::Connection&)> fn) { after_failure_ = std::move(fn); }

 private:
  void RunGroupOnce(const std::vector<PendingWrite*>& group);
  Status Exec(const char* sql, const char* context);

  sqlite::Connection* conn_;
  std::mutex* conn_mu_;
  std::mutex mu_;
  std::deque<PendingWrite*> queue_;
  CacheCounters cache_;
  std::function<bool(sqlite::Connection&)> after_failure_;
  bool after_failure_owed_ = false;  // guarded by conn_mu
};

}  // namespace convstore::sqlite
