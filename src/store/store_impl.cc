#include "store/store_impl.h"

#include "util/time.h"

namespace convstore::store {

StoreImpl::StoreImpl(Options options, std::string path, std::unique_ptr<sqlite::Connection> writer,
                     std::unique_ptr<sqlite::ReaderPool> readers, int schema_version)
    : options_(std::move(options)),
      path_(std::move(path)),
      schema_version_(schema_version),
      writer_(std::move(writer)),
      readers_(std::move(readers)),
      writes_(std::make_unique<WriteQueue>(writer_.get(), &write_mu_)) {}

StoreImpl::~StoreImpl() { (void)Close(); }

Status StoreImpl::Close() {
  std::unique_lock life(lifecycle_);  // waits for calls in progress
  if (closed()) return Status::OK();
  closed_.store(true, std::memory_order_release);
  readers_.reset();
  writes_.reset();
  writer_.reset();  // the last connection to close checkpoints the WAL
  util::Logger().debug("closed store '{}'", path_);
  return Status::OK();
}

int64_t StoreImpl::NowSystem() { return util::SystemNowMicros(); }

void StoreImpl::LogIfSlow(const char* op, std::chrono::steady_clock::time_point start) const {
  if (options_.slow_operation_ms <= 0) return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (ms >= options_.slow_operation_ms) util::Logger().warn("slow operation {} took {} ms on '{}'", op, ms, path_);
}

}  // namespace convstore::store
