// Detecting fork(): a generation number bumped in the child of every fork.
#pragma once
#include <cstdint>

namespace convstore::util {
// Cheap (one relaxed atomic load). Differs from a value read before a fork when read in the child after it.
uint64_t ForkGeneration() noexcept;
}  // namespace convstore::util
