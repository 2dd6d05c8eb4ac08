#include "store/write_queue.h"

#include <sqlite3.h>

#include <fmt/format.h>

namespace convstore::store {

Status WriteQueue::Submit(PendingWrite& w) {
  std::unique_lock lock(mu_);
  queue_.push_back(&w);
  w.cv.wait(lock, [&] { return w.done || queue_.front() == &w; });
  if (w.done) return w.status;  // a leader ran it

  // Leader: take the writes queued so far.
  std::vector<PendingWrite*> group;
  for (auto it = queue_.begin(); it != queue_.end() && group.size() < kMaxGroup; ++it) group.push_back(*it);
  lock.unlock();
  {
    std::lock_guard conn_lock(*conn_mu_);
    RunGroup(group);
  }
  lock.lock();
  for (PendingWrite* g : group) {
    queue_.pop_front();
    g->done = true;
    if (g != &w) g->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();  // the next leader
  return w.status;
}

Status WriteQueue::Exec(const char* sql, const char* context) {
  auto st = conn_->Prepare(sql);
  if (!st.ok()) return st.status();
  return st->Run(context);
}

void WriteQueue::RunGroup(const std::vector<PendingWrite*>& group) {
  size_t i = 0;
  while (i < group.size()) {
    const size_t start = i;
    auto txn = sqlite::WriteTransaction::Begin(*conn_);
    if (!txn.ok()) {
      for (size_t j = start; j < group.size(); ++j) group[j]->status = txn.status();
      return;
    }
    if (group.size() == 1) {  // the common, uncontended case: no savepoint needed
      PendingWrite* w = group[0];
      w->status = w->body(*conn_);
      if (w->status.ok()) w->status = txn->Commit();
      return;  // on failure the transaction rolls back when `txn` goes out of scope
    }
    bool aborted = false;  // SQLite rolled the whole transaction back (I/O error, disk full, out of memory)
    for (; i < group.size(); ++i) {
      PendingWrite* w = group[i];
      if (Status s = Exec("SAVEPOINT convstore_write", "savepoint"); !s.ok()) {
        w->status = s;
        continue;
      }
      w->status = w->body(*conn_);
      if (w->status.ok()) {
        w->status = Exec("RELEASE convstore_write", "release savepoint");
        if (w->status.ok()) continue;
      }
      if (sqlite3_get_autocommit(conn_->raw()) != 0) {
        for (size_t j = start; j < i; ++j)
          if (group[j]->status.ok())
            group[j]->status = Status(w->status.code(),
                                      fmt::format("rolled back with a concurrent write that failed: {}",
                                                  w->status.message()));
        ++i;
        aborted = true;
        break;
      }
      (void)Exec("ROLLBACK TO convstore_write", "rollback to savepoint");
      (void)Exec("RELEASE convstore_write", "release savepoint");
    }
    if (aborted) continue;  // the rest run in a fresh transaction
    Status committed = txn->Commit();
    for (size_t j = start; j < i; ++j)
      if (group[j]->status.ok()) group[j]->status = committed;
  }
}

}  // namespace convstore::store
