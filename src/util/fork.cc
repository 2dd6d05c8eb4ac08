#include "util/fork.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <new>

namespace convstore::util {

namespace {

std::atomic<uint64_t> generation{0};
std::atomic<int64_t> active{0};           // threads inside convstore (outermost scopes), parked ones excluded
std::atomic<int> forks_in_progress{0};    // prepare handlers that closed the gate
std::atomic<bool> quiesced{true};         // this process, if a forked child, was forked with convstore idle
thread_local bool prepared_idle = true;   // what this thread's last prepare handler found (read in the child)
std::atomic<int64_t> wait_override_ms{0};
thread_local int call_depth = 0;             // this thread's nesting of CallScopes (0 while parked)

// The gate's mutex and condition variable live in raw storage so the child can construct them afresh: another
// thread may have held or waited on them at the fork, and that thread does not exist in the child.
alignas(std::mutex) unsigned char mutex_storage[sizeof(std::mutex)];
alignas(std::condition_variable) unsigned char cv_storage[sizeof(std::condition_variable)];
std::mutex* gate_mu = new (mutex_storage) std::mutex;
std::condition_variable* gate_cv = new (cv_storage) std::condition_variable;

void Enter() noexcept {
  for (;;) {
    active.fetch_add(1, std::memory_order_seq_cst);
    if (forks_in_progress.load(std::memory_order_seq_cst) == 0) return;
    // A fork is being prepared: step back out (waking the preparer if it waits for us) and wait for it.
    active.fetch_sub(1, std::memory_order_seq_cst);
    std::unique_lock lock(*gate_mu);
    gate_cv->notify_all();
    gate_cv->wait(lock, [] { return forks_in_progress.load(std::memory_order_seq_cst) == 0; });
  }
}

void Leave() noexcept {
  active.fetch_sub(1, std::memory_order_seq_cst);
  if (forks_in_progress.load(std::memory_order_seq_cst) != 0) {
    std::lock_guard lock(*gate_mu);  // taken after the decrement: the preparer cannot miss it
    gate_cv->notify_all();
  }
}

void Prepare() {
  const int64_t own = call_depth > 0 ? 1 : 0;  // a fork from inside a convstore callback
  std::unique_lock lock(*gate_mu);
  forks_in_progress.fetch_add(1, std::memory_order_seq_cst);
  // Thread-local: the forking thread alone carries it into the child; the parent keeps its own flag, and two
  // threads forking at once do not overwrite each other's finding.
  prepared_idle = gate_cv->wait_for(lock, ForkWait(), [own] {
    return active.load(std::memory_order_seq_cst) <= own;
  });
}

void InParent() {
  {
    std::lock_guard lock(*gate_mu);
    forks_in_progress.fetch_sub(1, std::memory_order_seq_cst);
  }
  gate_cv->notify_all();
}

void InChild() {
  gate_mu = new (mutex_storage) std::mutex;  // the old ones are abandoned, never destroyed
  gate_cv = new (cv_storage) std::condition_variable;
  forks_in_progress.store(0, std::memory_order_seq_cst);
  active.store(call_depth > 0 ? 1 : 0, std::memory_order_seq_cst);
  if (!prepared_idle) quiesced.store(false, std::memory_order_seq_cst);  // a child of a child stays marked
  generation.fetch_add(1, std::memory_order_relaxed);
}

const bool kRegistered = [] { return pthread_atfork(Prepare, InParent, InChild) == 0; }();

}  // namespace

uint64_t ForkGeneration() noexcept {
  (void)kRegistered;
  return generation.load(std::memory_order_relaxed);
}

bool ForkQuiesced() noexcept { return quiesced.load(std::memory_order_seq_cst); }

std::chrono::milliseconds ForkWait() noexcept {
  const int64_t ms = wait_override_ms.load(std::memory_order_relaxed);
  return std::chrono::milliseconds(ms > 0 ? ms : 5000);
}

void SetForkWaitForTesting(std::chrono::milliseconds wait) noexcept {
  wait_override_ms.store(wait.count(), std::memory_order_relaxed);
}

CallScope::CallScope() noexcept {
  (void)kRegistered;
  if (call_depth++ == 0) Enter();
}

CallScope::~CallScope() {
  if (--call_depth == 0) Leave();
}

ParkedScope::ParkedScope() noexcept : depth_(call_depth) {
  if (depth_ > 0) {
    call_depth = 0;
    Leave();
  }
}

ParkedScope::~ParkedScope() {
  if (depth_ > 0) {
    Enter();
    call_depth = depth_;
  }
}

}  // namespace convstore::util
