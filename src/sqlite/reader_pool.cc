#include "sqlite/reader_pool.h"

namespace convstore::sqlite {

ReaderPool::ReaderPool(std::vector<std::unique_ptr<Connection>> connections) : all_(std::move(connections)) {
  for (auto& c : all_) free_.push_back(c.get());
}

ReaderPool::Lease ReaderPool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !free_.empty(); });
  Connection* c = free_.back();
  free_.pop_back();
  return Lease(this, c);
}

void ReaderPool::Release(Connection* conn) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(conn);
  }
  cv_.notify_one();
}

}  // namespace convstore::sqlite
