#include "util/uuid.h"

#include <random>

#include "util/fork.h"

namespace convstore::util {

namespace {

uint64_t Seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

std::string NewUuidV7(int64_t unix_micros) {
  thread_local std::mt19937_64 rng{Seed()};
  // A forked child reseeds instead of repeating its parent's ids.
  thread_local uint64_t generation = ForkGeneration();
  thread_local uint64_t last_ms = 0;
  thread_local uint64_t counter = 0;  // 12-bit rand_a used as a counter within one millisecond (RFC 9562 §6.2)
  if (uint64_t g = ForkGeneration(); g != generation) {
    generation = g;
    rng.seed(Seed());
  }
  uint64_t ms = static_cast<uint64_t>(unix_micros < 0 ? 0 : unix_micros / 1000);
  if (ms <= last_ms) {
    ms = last_ms;
    if (++counter > 0xFFF) { ++ms; counter = 0; }
  } else {
    counter = rng() & 0x3FF;  // random start, leaves room to count up
  }
  last_ms = ms;
  uint64_t hi = (ms << 16) | (0x7ULL << 12) | counter;
  uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) ++pos;
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    out[static_cast<size_t>(pos++)] = kHex[(word >> shift) & 0xF];
  }
  return out;
}

}  // namespace convstore::util
