// Encryption of backups and archive segments at rest: AES-256-GCM (OpenSSL's libcrypto) in chunks, so files of
// any size stream through bounded memory and every chunk is authenticated.
//
// Format (version 1), all integers little-endian unless said:
//   0   8 bytes  magic "CSTRENC1"
//   8   4        format version (1)
//   12  4        chunk size in bytes (1 MiB)
//   16  12       random nonce base
//   28  16       key check: the GCM tag of nothing, under nonce base XOR 2^64-1 (the last 8 bytes, big-endian),
//                with the additional data "convstore key check" + bytes 0..28 — a wrong key is told apart from a
//                damaged file
//   44  ...      chunks: ciphertext (chunk size; the last one shorter, possibly empty) + 16-byte tag, under nonce
//                base XOR the chunk index (big-endian in the last 8 bytes), with additional data bytes 0..44 +
//                the index (8 bytes, big-endian) + 1 if it is the last chunk else 0 — reordering, truncation and
//                appending all fail a tag.
//
// Stateless functions; thread-safe. Keys are 32 bytes, given as 64 hex characters.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "convstore/status.h"

namespace convstore::ops {

using CipherKey = std::array<unsigned char, 32>;

// 64 hex characters (either case) -> key; kInvalidArgument naming what is wrong otherwise.
Result<CipherKey> ParseCipherKey(std::string_view hex);

// Whether the file starts with the magic of an encrypted file (kNotFound / kIoError when it cannot be read).
Result<bool> IsEncryptedFile(const std::string& path);

// Encrypts `plain` into a new file `out` (created 0600, exclusive, fsync'ed; removed on failure).
// `progress(bytes_done)` after each chunk (may be empty).
Status EncryptFile(const std::string& plain, const std::string& out, const CipherKey& key,
                   const std::function<void(int64_t)>& progress = nullptr);

// Decrypts `in` into a new file `out` (same guarantees). kInvalidArgument for a wrong key, kCorruption for a file
// that is damaged, truncated or not in this format; `out` is removed then.
Status DecryptFile(const std::string& in, const std::string& out, const CipherKey& key,
                   const std::function<void(int64_t)>& progress = nullptr);

// The same for bytes held in memory (archive segments).
Result<std::string> EncryptBytes(std::string_view plain, const CipherKey& key);
Result<std::string> DecryptBytes(std::string_view sealed, const CipherKey& key);

}  // namespace convstore::ops
