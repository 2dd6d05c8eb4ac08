#include "ops/audit_chain.h"

#include <openssl/evp.h>

#include <new>

#include "util/random.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

constexpr std::string_view kEntryDomain{"convstore.audit.v1\0", 19};
constexpr std::string_view kPersonalDomain{"convstore.audit.personal.v1\0", 28};
constexpr std::string_view kCheckpointDomain{"convstore.audit.checkpoint.v1\0", 30};

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutBytes(std::string& out, std::string_view bytes) {
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(bytes);
}

void PutOptional(std::string& out, const std::optional<std::string_view>& v) {
  if (!v) {
    out.push_back('\0');
    return;
  }
  out.push_back('\1');
  PutBytes(out, *v);
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string CheckpointMessage(std::string_view log_id, int64_t seq, std::string_view hash, int64_t at) {
  std::string m(kCheckpointDomain);
  m.append(log_id);
  PutU64(m, static_cast<uint64_t>(seq));
  m.append(hash);
  PutU64(m, static_cast<uint64_t>(at));
  return m;
}

Status CheckLength(std::string_view bytes, size_t n, const char* what) {
  if (bytes.size() != n) return Status::InvalidArgument(std::string(what) + " must be " + std::to_string(n) + " bytes");
  return Status::OK();
}

}  // namespace

struct AuditHasher::Ctx {
  EVP_MD* sha256 = nullptr;
  EVP_MD_CTX* md = nullptr;
  ~Ctx() {
    EVP_MD_CTX_free(md);
    EVP_MD_free(sha256);
  }
};

AuditHasher::AuditHasher() : ctx_(new Ctx) {
  // Fetched once: EVP_sha256() would look the implementation up again on every digest.
  ctx_->sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->sha256 == nullptr || ctx_->md == nullptr) throw std::bad_alloc();
  buffer_.reserve(512);
}

AuditHasher::~AuditHasher() = default;

std::string AuditHasher::Digest(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestInit_ex2(ctx_->md, ctx_->sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) != 1 || EVP_DigestFinal_ex(ctx_->md, digest, &n) != 1)
    throw std::bad_alloc();
  return std::string(reinterpret_cast<const char*>(digest), n);
}

std::string AuditHasher::EntryHash(const AuditChainFields& f) {
  std::string& b = buffer_;
  b.assign(kEntryDomain);
  PutU64(b, static_cast<uint64_t>(f.seq));
  b.append(f.prev_hash);
  PutU64(b, static_cast<uint64_t>(f.at));
  PutBytes(b, f.actor);
  PutOptional(b, f.actor_user);
  PutOptional(b, f.subject_user);
  PutBytes(b, f.action);
  PutBytes(b, f.resource_type);
  PutBytes(b, f.resource_id);
  PutBytes(b, f.details);
  if (f.personal_hash) {
    b.push_back('\1');
    b.append(*f.personal_hash);
  } else {
    b.push_back('\0');
  }
  return Digest(b);
}

std::string AuditHasher::PersonalHash(const AuditPersonalFields& f) {
  std::string& b = buffer_;
  b.assign(kPersonalDomain);
  b.append(f.salt);
  PutOptional(b, f.ip_address);
  PutOptional(b, f.user_agent);
  PutOptional(b, f.personal);
  return Digest(b);
}

std::string ToHex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

std::optional<std::string> FromHex(std::string_view hex, size_t bytes) {
  if (hex.size() != bytes * 2) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) {
    const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

Result<std::string> NewPrivateKey() { return util::RandomBytes(32); }

Result<std::string> PublicKeyOf(std::string_view private_key) {
  CONVSTORE_RETURN_IF_ERROR(CheckLength(private_key, 32, "an Ed25519 private key"));
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(private_key.data()), 32));
  if (!key) return Status::InvalidArgument("not an Ed25519 private key");
  std::string pub(32, '\0');
  size_t n = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(pub.data()), &n) != 1 || n != 32)
    return Status::Internal("could not derive the Ed25519 public key");
  return pub;
}

Result<std::string> SignCheckpoint(std::string_view private_key, std::string_view log_id, int64_t seq,
                                   std::string_view hash, int64_t at) {
  CONVSTORE_RETURN_IF_ERROR(CheckLength(private_key, 32, "an Ed25519 private key"));
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(private_key.data()), 32));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx) return Status::InvalidArgument("not an Ed25519 private key");
  const std::string message = CheckpointMessage(log_id, seq, hash, at);
  std::string sig(64, '\0');
  size_t n = sig.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      n != 64)
    return Status::Internal("Ed25519 signing failed");
  return sig;
}

Status CheckCheckpointSignature(std::string_view public_key, std::string_view log_id, int64_t seq,
                                std::string_view hash, int64_t at, std::string_view signature) {
  CONVSTORE_RETURN_IF_ERROR(CheckLength(public_key, 32, "an Ed25519 public key"));
  CONVSTORE_RETURN_IF_ERROR(CheckLength(signature, 64, "an Ed25519 signature"));
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(public_key.data()), 32));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx) return Status::InvalidArgument("not an Ed25519 public key");
  const std::string message = CheckpointMessage(log_id, seq, hash, at);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
    return Status::Internal("Ed25519 verification could not start");
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return Status::InvalidArgument("the checkpoint's signature does not verify with this public key");
  return Status::OK();
}

}  // namespace convstore::ops
