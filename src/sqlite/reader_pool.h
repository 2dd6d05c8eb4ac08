// ReaderPool: a fixed set of read-only connections leased to one thread at a time.
// Thread-safe. Acquire blocks while every connection is leased.
#pragma once
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "sqlite/connection.h"

namespace convstore::sqlite {

class ReaderPool {
 public:
  explicit ReaderPool(std::vector<std::unique_ptr<Connection>> connections);

  class Lease {
   public:
    Lease(ReaderPool* pool, Connection* conn) noexcept : pool_(pool), conn_(conn) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(o.conn_) { o.conn_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) pool_->Release(conn_);
    }
    Connection& operator*() const noexcept { return *conn_; }

   private:
    ReaderPool* pool_;
    Connection* conn_;
  };

  Lease Acquire();
  // The page-cache use of the pool's connections (gathered as each is released) since the last call, then zeroed.
  CacheUse TakeCacheUse() noexcept { return cache_.Take(); }

 private:
  void Release(Connection* conn);
  std::vector<std::unique_ptr<Connection>> all_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Connection*> free_;
  CacheCounters cache_;
};

}  // namespace convstore::sqlite
