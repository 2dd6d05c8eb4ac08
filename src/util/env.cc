// The default Env: the system clock.
#include "convstore/env.h"

#include "util/time.h"

namespace convstore {

namespace {

class SystemEnv final : public Env {
 public:
  int64_t NowMicros() override { return util::SystemNowMicros(); }
};

}  // namespace

Env::~Env() = default;

Env* Env::Default() {
  static SystemEnv* env = new SystemEnv;  // never destroyed: stores may outlive static destruction
  return env;
}

}  // namespace convstore
