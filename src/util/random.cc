#include "util/random.h"

#include <openssl/rand.h>

namespace convstore::util {

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return Status::Internal("the random number generator failed");
  return out;
}

Result<std::string> RandomHex(size_t n) {
  auto bytes = RandomBytes(n);
  if (!bytes.ok()) return bytes.status();
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (unsigned char c : *bytes) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

}  // namespace convstore::util
