// SHA-256 (OpenSSL's libcrypto) of byte strings and whole files, as lowercase hex.
//
// Stateless; thread-safe. A Sha256 object is used by one thread at a time.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "convstore/status.h"

namespace convstore::ops {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // once; the object is spent afterwards

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view bytes);

// The digest of a file read in 1 MiB blocks; `progress(bytes_done)` after each block (may be empty).
Result<std::string> Sha256OfFile(const std::string& path, const std::function<void(int64_t)>& progress = nullptr);

}  // namespace convstore::ops
