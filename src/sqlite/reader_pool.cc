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
  const CacheUse use = conn->TakeCacheUse();  // still this thread's connection
  if (use.hits != 0) cache_hits_.fetch_add(use.hits, std::memory_order_relaxed);
  if (use.misses != 0) cache_misses_.fetch_add(use.misses, std::memory_order_relaxed);
  if (use.writes != 0) cache_writes_.fetch_add(use.writes, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    free_.push_back(conn);
  }
  cv_.notify_one();
}

CacheUse ReaderPool::TakeCacheUse() noexcept {
  return {cache_hits_.exchange(0, std::memory_order_relaxed), cache_misses_.exchange(0, std::memory_order_relaxed),
          cache_writes_.exchange(0, std::memory_order_relaxed)};
}

}  // namespace convstore::sqlite
