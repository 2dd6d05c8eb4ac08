#include "sqlite/reader_pool.h"

#include "util/fork.h"

namespace convstore::sqlite {

ReaderPool::ReaderPool(std::vector<std::unique_ptr<Connection>> connections) : all_(std::move(connections)) {
  for (auto& c : all_) free_.push_back(c.get());
}

ReaderPool::Lease ReaderPool::Acquire() {
  std::unique_lock lock(mu_);
  while (free_.empty()) {
    {
      // Waiting for another reader to finish holds no SQLite state, so a fork need not wait for it
      // (util/fork.h); the gate is re-entered with the pool's lock released, then the pool is looked at again.
      util::ParkedScope parked;
      cv_.wait(lock, [this] { return !free_.empty(); });
      lock.unlock();
    }
    lock.lock();
  }
  Connection* c = free_.back();
  free_.pop_back();
  return Lease(this, c);
}

void ReaderPool::Release(Connection* conn) {
  cache_.Add(conn->TakeCacheUse());  // still this thread's connection
  {
    std::lock_guard lock(mu_);
    free_.push_back(conn);
  }
  cv_.notify_one();
}

}  // namespace convstore::sqlite
