// UUIDv7 (RFC 9562): 48-bit Unix-ms timestamp + random bits, so ids sort by creation time.
#pragma once
#include <cstdint>
#include <string>

namespace convstore::util {
// Thread-safe (per-thread generator). Monotonic within a thread for the same millisecond.
std::string NewUuidV7(int64_t unix_micros);
}
