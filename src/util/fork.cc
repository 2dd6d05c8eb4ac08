#include "util/fork.h"

#include <pthread.h>

#include <atomic>

namespace convstore::util {

namespace {
std::atomic<uint64_t> generation{0};
void BumpInChild() { generation.fetch_add(1, std::memory_order_relaxed); }
const bool kRegistered = [] { return pthread_atfork(nullptr, nullptr, BumpInChild) == 0; }();
}  // namespace

uint64_t ForkGeneration() noexcept {
  (void)kRegistered;
  return generation.load(std::memory_order_relaxed);
}

}  // namespace convstore::util
