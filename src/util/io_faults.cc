#include "util/io_faults.h"

#include <atomic>

namespace convstore::util {

namespace {
std::atomic<IoFaultHook> g_hook{nullptr};
}  // namespace

void SetIoFaultHook(IoFaultHook hook) { g_hook.store(hook, std::memory_order_release); }

int InjectedIoFault(IoOp op) {
  IoFaultHook hook = g_hook.load(std::memory_order_acquire);
  return hook != nullptr ? hook(op) : 0;
}

}  // namespace convstore::util
