// The audit log's hash chain and signed checkpoints: the canonical encoding of an entry, its SHA-256, the salted
// hash of its personal fields, and Ed25519 keys, signatures and checks (OpenSSL's libcrypto).
//
// An entry's hash is SHA-256 over (docs/audit.md repeats this):
//   "convstore.audit.v1" 0x00, seq (8 bytes big-endian), the previous entry's hash (32 bytes; zeros for entry 1),
//   at (8 bytes big-endian, two's complement), then actor, actor_user, subject_user, action, resource_type,
//   resource_id, details — each as a 4-byte big-endian length and its bytes, with actor_user and subject_user
//   preceded by 0x00 when absent (and nothing else) or 0x01 — then 0x00 when the entry has no personal fields or
//   0x01 and their 32-byte hash.
// The personal hash is SHA-256 over "convstore.audit.personal.v1" 0x00, a random 16-byte salt, and the IP address,
// user agent and personal details each as 0x00 (absent) or 0x01, length and bytes. The salt makes the hash of a
// short value (an IPv4 address) impossible to reverse by trying every value; an erase removes the fields and the
// salt and keeps the hash, which the entry's hash covers.
// A checkpoint signs "convstore.audit.checkpoint.v1" 0x00, the log id (16 bytes), seq (8 bytes), the entry's hash
// (32 bytes) and the checkpoint's time (8 bytes).
//
// Stateless functions; thread-safe. An AuditHasher (a reusable digest context) is used by one thread at a time.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "convstore/status.h"

namespace convstore::ops {

constexpr size_t kAuditHashBytes = 32;
constexpr size_t kAuditSaltBytes = 16;
constexpr size_t kAuditLogIdBytes = 16;

// The fields the chain covers, as stored (hashes and ids as raw bytes).
struct AuditChainFields {
  int64_t seq = 0;
  std::string_view prev_hash{};  // 32 bytes
  int64_t at = 0;
  std::string_view actor{};
  std::optional<std::string_view> actor_user{};
  std::optional<std::string_view> subject_user{};
  std::string_view action{};
  std::string_view resource_type{};
  std::string_view resource_id{};
  std::string_view details{};
  std::optional<std::string_view> personal_hash{};  // 32 bytes when the entry has personal fields
};

struct AuditPersonalFields {
  std::string_view salt{};  // 16 bytes
  std::optional<std::string_view> ip_address{};
  std::optional<std::string_view> user_agent{};
  std::optional<std::string_view> personal{};
};

class AuditHasher {
 public:
  AuditHasher();
  ~AuditHasher();
  AuditHasher(const AuditHasher&) = delete;
  AuditHasher& operator=(const AuditHasher&) = delete;
  // 32 raw bytes. Throws std::bad_alloc when libcrypto cannot allocate.
  std::string EntryHash(const AuditChainFields& fields);
  std::string PersonalHash(const AuditPersonalFields& fields);

 private:
  std::string Digest(const std::string& bytes);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::string buffer_;  // reused between entries
};

std::string ToHex(std::string_view bytes);
// Exactly 2 * bytes lowercase or uppercase hex digits; nullopt otherwise.
std::optional<std::string> FromHex(std::string_view hex, size_t bytes);

// Ed25519 over the checkpoint's message. Keys and signature as raw bytes (32, 32, 64).
Result<std::string> PublicKeyOf(std::string_view private_key);
Result<std::string> SignCheckpoint(std::string_view private_key, std::string_view log_id, int64_t seq,
                                   std::string_view hash, int64_t at);
// OK when the signature verifies; kInvalidArgument ("the signature does not verify") otherwise.
Status CheckCheckpointSignature(std::string_view public_key, std::string_view log_id, int64_t seq,
                                std::string_view hash, int64_t at, std::string_view signature);
// A new private key (32 bytes).
Result<std::string> NewPrivateKey();

}  // namespace convstore::ops
