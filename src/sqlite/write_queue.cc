#include "sqlite/write_queue.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include "util/fork.h"

namespace convstore::sqlite {

Status WriteQueue::Submit(PendingWrite& w) {
  std::vector<PendingWrite*> group;
  std::unique_lock lock(mu_, std::defer_lock);
  try {
    group.reserve(kMaxGroup);  // allocate before taking the lock; nothing below allocates while queued
    lock.lock();
    queue_.push_back(&w);
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("write queue: {}", e.what()));
  }
  if (!(w.done || queue_.front() == &w)) {
    // Waiting for the leader holds no SQLite state: a fork need not wait for this thread (util/fork.h). Both
    // conditions are stable once true, so re-entering after the queue lock is released loses nothing.
    util::ParkedScope parked;
    w.cv.wait(lock, [&] { return w.done || queue_.front() == &w; });
    lock.unlock();
  }
  if (!lock.owns_lock()) lock.lock();
  if (w.done) return w.status;  // a leader ran it

  // Leader: take the writes queued so far (always the first group.size() entries of the queue).
  for (auto it = queue_.begin(); it != queue_.end() && group.size() < kMaxGroup; ++it) {
    if ((*it)->alone && !group.empty()) break;
    group.push_back(*it);
    if ((*it)->alone) break;
  }
  lock.unlock();
  {
    std::unique_lock conn_lock(*conn_mu_, std::defer_lock);
    util::LockParked(conn_lock);
    try {
      RunGroup(group);
    } catch (const std::exception& e) {  // out of memory in the machinery itself: fail the whole group
      Status failed = Status::Internal(fmt::format("write failed: {}", e.what()));
      conn_->EndStrayTransaction();
      for (PendingWrite* g : group) g->status = failed;
    }
  }
  // Always hand the group back and wake the next leader, whatever happened above.
  lock.lock();
  for (PendingWrite* g : group) {
    queue_.pop_front();
    g->done = true;
    if (g != &w) g->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return w.status;
}

Status WriteQueue::Exec(const char* sql, const char* context) {
  auto st = conn_->Prepare(sql);
  if (!st.ok()) return st.status();
  return st->Run(context);
}

void WriteQueue::RunGroup(const std::vector<PendingWrite*>& group) {
  if (after_failure_owed_) after_failure_owed_ = !after_failure_(*conn_);
  RunGroupOnce(group);
  if (after_failure_ && sqlite3_get_autocommit(conn_->raw()) != 0) {
    for (const PendingWrite* w : group) {
      if (w->status.ok()) continue;
      after_failure_owed_ = !after_failure_(*conn_);
      break;
    }
  }
  // The writer's page-cache use gathered after every group: SQLite's counters are ints and would wrap.
  cache_.Add(conn_->TakeCacheUse());
}

void WriteQueue::RunGroupOnce(const std::vector<PendingWrite*>& group) {
  std::vector<PendingWrite*> pending = group;
  std::vector<PendingWrite*> ran;  // bodies that succeeded in the current transaction
  ran.reserve(pending.size());
  while (!pending.empty()) {
    auto txn = sqlite::WriteTransaction::Begin(*conn_);
    if (!txn.ok()) {
      for (PendingWrite* w : pending) w->status = txn.status();
      return;
    }
    if (pending.size() == 1) {  // the common, uncontended case: no savepoint needed
      PendingWrite* w = pending[0];
      w->status = w->body(*conn_);
      if (w->status.ok()) w->status = txn->Commit();
      return;  // on failure the transaction rolls back when `txn` goes out of scope
    }
    ran.clear();
    size_t next = 0;
    bool aborted = false;  // the transaction is gone: SQLite rolled it back, or a savepoint could not be undone
    for (; next < pending.size() && !aborted; ++next) {
      PendingWrite* w = pending[next];
      if (Status s = Exec("SAVEPOINT convstore_write", "savepoint"); !s.ok()) {
        w->status = s;
        aborted = sqlite3_get_autocommit(conn_->raw()) != 0;
        continue;
      }
      w->status = w->body(*conn_);
      if (w->status.ok()) w->status = Exec("RELEASE convstore_write", "release savepoint");
      if (w->status.ok()) {
        ran.push_back(w);
        continue;
      }
      // Undo this write alone. If that is impossible, the whole transaction must go.
      Status undo = Exec("ROLLBACK TO convstore_write", "rollback to savepoint");
      if (undo.ok()) undo = Exec("RELEASE convstore_write", "release savepoint");
      aborted = !undo.ok() || sqlite3_get_autocommit(conn_->raw()) != 0;
    }
    if (aborted) {
      // The failed write keeps its error. The writes that had succeeded lost their work with the transaction;
      // they are run again (bodies are replayable: they only read their captured inputs) in a fresh one, with
      // the writes not yet run. Each round settles at least one write, so this ends.
      std::vector<PendingWrite*> again(ran);
      again.insert(again.end(), pending.begin() + static_cast<std::ptrdiff_t>(next), pending.end());
      pending.swap(again);
      continue;  // `txn` rolls back whatever is left as it goes out of scope
    }
    Status committed = txn->Commit();
    for (PendingWrite* w : ran) w->status = committed;
    return;
  }
}

}  // namespace convstore::sqlite
