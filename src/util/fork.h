// fork() and convstore: a generation number to detect that a process is a forked child, and a gate that keeps
// the child from inheriting SQLite's (or convstore's) internal locks held by another thread at the fork.
//
// Every call into convstore runs inside a CallScope. A pthread_atfork prepare handler closes the gate (new calls
// wait at the door until the fork is done) and waits, at most ForkWait(), for the calls in progress to leave —
// not counting the forking thread's own, nor threads parked (ParkedScope) while they wait on a lock, for another
// writer, in the busy handler, or in a user callback: none of those is inside SQLite. If the wait runs out the fork
// proceeds and the child is marked: opening a store there fails with kBusy (a hang on a lock nobody will release
// is the alternative), as reported by ForkQuiesced(); the parent is not marked. The parent and child handlers open
// the gate again.
//
// What stays unsafe: another library using SQLite (or anything else holding its locks) in another thread of the
// parent at the moment of the fork. A process started with the "spawn" method (fork + exec) has no such risk.
//
// Thread-safe; the scopes are cheap (an atomic increment and decrement, plus a thread-local depth for nesting).
#pragma once
#include <chrono>
#include <cstdint>

namespace convstore::util {

// Cheap (one relaxed atomic load). Differs from a value read before a fork when read in the child after it.
uint64_t ForkGeneration() noexcept;

// In a forked child: whether every other thread had left convstore when the fork happened. True in a process
// that never forked (or whose fork found convstore idle).
bool ForkQuiesced() noexcept;

// How long a fork waits for calls in progress: 5 s.
std::chrono::milliseconds ForkWait() noexcept;
// Tests only: a shorter wait (0 restores the default).
void SetForkWaitForTesting(std::chrono::milliseconds wait) noexcept;

// Marks this thread as inside convstore for its lifetime. Nested scopes count once. Entering waits while a fork
// is being prepared.
class CallScope {
 public:
  CallScope() noexcept;
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;
};

// Inside a CallScope: marks this thread as parked — blocked waiting for another convstore thread, holding no
// SQLite state — so a fork need not wait for it. Leaving the scope re-enters (and may wait out a fork); so
// release any lock another convstore thread may need before the scope ends.
class ParkedScope {
 public:
  ParkedScope() noexcept;
  ~ParkedScope();
  ParkedScope(const ParkedScope&) = delete;
  ParkedScope& operator=(const ParkedScope&) = delete;

 private:
  int depth_;
};

// Locks `lock` (a std::unique_lock / std::shared_lock constructed with std::defer_lock), parked while it has to
// wait: a thread blocked on one of convstore's locks holds no SQLite state, and the thread it waits for may be
// waiting for the fork. Every blocking wait inside convstore goes through here (or a ParkedScope); so does every
// user callback, which runs outside SQLite and may itself wait on the forking thread (Python's GIL) or fork.
template <typename Lock>
void LockParked(Lock& lock) {
  if (lock.try_lock()) return;
  ParkedScope parked;
  lock.lock();
}

}  // namespace convstore::util
