// Unpredictable random bytes from OpenSSL's generator (seeded by the operating system), for ids that must not be
// guessable: pseudonymous ids, salts, audit log ids.
//
// Thread-safe.
#pragma once
#include <cstddef>
#include <string>

#include "convstore/status.h"

namespace convstore::util {

Result<std::string> RandomBytes(size_t n);
// 2n lowercase hex digits of n random bytes.
Result<std::string> RandomHex(size_t n);

}  // namespace convstore::util
