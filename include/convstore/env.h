// Env: what a store takes from its surroundings: today, the time. The default is the system's; a test or a
// simulation passes its own through Options::env. (After LevelDB's Env.)
//
// Thread-safety: a store calls its Env from any thread that calls the store, so an implementation must be
// thread-safe. Ownership: the caller owns an Env it passes and keeps it alive until every ConversationStore opened
// with it has been destroyed (not merely closed: a call racing Close may still read the time); Env::Default() lives
// as long as the process.
#ifndef CONVSTORE_ENV_H_
#define CONVSTORE_ENV_H_

#include <cstdint>

#include "convstore/export.h"

namespace convstore {

class CONVSTORE_EXPORT Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env();

  // Microseconds since the Unix epoch, UTC: the time a store stamps on what it writes and measures windows from.
  // An exception it throws fails the call in progress with kInternal.
  virtual int64_t NowMicros() = 0;

  // The system clock.
  static Env* Default();
};

}  // namespace convstore

#endif  // CONVSTORE_ENV_H_
