#include "ops/file_cipher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "util/durable_file.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

constexpr char kCipherMagic[8] = {'C', 'S', 'T', 'R', 'E', 'N', 'C', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kChunk = 1u << 20;
constexpr size_t kHeader = 44;
constexpr size_t kTag = 16;
constexpr char kKeyCheckLabel[] = "convstore key check";

using ReadFn = std::function<Result<size_t>(char* buf, size_t n)>;  // fills up to n bytes; 0 at the end
using WriteFn = std::function<Status(std::string_view bytes)>;

void PutLe32(unsigned char* p, uint32_t v) {
  for (int k = 0; k < 4; ++k) p[k] = static_cast<unsigned char>(v >> (8 * k));
}
uint32_t GetLe32(const unsigned char* p) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}
void PutBe64(unsigned char* p, uint64_t v) {
  for (int k = 7; k >= 0; --k) {
    p[k] = static_cast<unsigned char>(v & 0xFF);
    v >>= 8;
  }
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

void NonceFor(const unsigned char* base, uint64_t index, unsigned char nonce[12]) {
  std::memcpy(nonce, base, 12);
  unsigned char be[8];
  PutBe64(be, index);
  for (int k = 0; k < 8; ++k) nonce[4 + k] ^= be[k];
}

// One GCM operation: encrypt (tag out) or decrypt (tag in, checked). False on a tag mismatch or an OpenSSL error.
bool Gcm(bool encrypt, const CipherKey& key, const unsigned char nonce[12], std::string_view aad,
         const unsigned char* in, size_t n, unsigned char* out, unsigned char tag[kTag]) {
  CipherCtx c;
  if (c.ctx == nullptr) throw std::bad_alloc();
  int len = 0;
  auto* ctx = c.ctx;
  const EVP_CIPHER* aes = EVP_aes_256_gcm();
  if ((encrypt ? EVP_EncryptInit_ex(ctx, aes, nullptr, nullptr, nullptr)
               : EVP_DecryptInit_ex(ctx, aes, nullptr, nullptr, nullptr)) != 1)
    return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1) return false;
  if ((encrypt ? EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce)
               : EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce)) != 1)
    return false;
  const auto* a = reinterpret_cast<const unsigned char*>(aad.data());
  if ((encrypt ? EVP_EncryptUpdate(ctx, nullptr, &len, a, static_cast<int>(aad.size()))
               : EVP_DecryptUpdate(ctx, nullptr, &len, a, static_cast<int>(aad.size()))) != 1)
    return false;
  if (n > 0 && (encrypt ? EVP_EncryptUpdate(ctx, out, &len, in, static_cast<int>(n))
                        : EVP_DecryptUpdate(ctx, out, &len, in, static_cast<int>(n))) != 1)
    return false;
  if (encrypt) {
    if (EVP_EncryptFinal_ex(ctx, out + n, &len) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, tag) == 1;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1) return false;
  return EVP_DecryptFinal_ex(ctx, out + n, &len) == 1;
}

void KeyCheck(const CipherKey& key, const unsigned char* header, unsigned char tag[kTag]) {
  unsigned char nonce[12];
  NonceFor(header + 16, UINT64_MAX, nonce);
  std::string aad(kKeyCheckLabel);
  aad.append(reinterpret_cast<const char*>(header), 28);
  unsigned char none[1];
  if (!Gcm(true, key, nonce, aad, nullptr, 0, none, tag)) throw std::bad_alloc();
}

std::string ChunkAad(const unsigned char* header, uint64_t index, bool last) {
  std::string aad(reinterpret_cast<const char*>(header), kHeader);
  unsigned char be[8];
  PutBe64(be, index);
  aad.append(reinterpret_cast<const char*>(be), 8);
  aad.push_back(last ? 1 : 0);
  return aad;
}

// Reads exactly n bytes unless the input ends first; returns how many.
Result<size_t> ReadFull(const ReadFn& read, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    auto r = read(buf + got, n - got);
    if (!r.ok()) return r.status();
    if (*r == 0) break;
    got += *r;
  }
  return got;
}

Status Seal(int64_t plain_size, const ReadFn& read, const WriteFn& write, const CipherKey& key,
            const std::function<void(int64_t)>& progress) {
  unsigned char header[kHeader];
  std::memcpy(header, kCipherMagic, 8);
  PutLe32(header + 8, kVersion);
  PutLe32(header + 12, kChunk);
  if (RAND_bytes(header + 16, 12) != 1) return Status::Internal("no random bytes for a nonce");
  KeyCheck(key, header, header + 28);
  CONVSTORE_RETURN_IF_ERROR(write(std::string_view(reinterpret_cast<const char*>(header), kHeader)));
  std::vector<char> plain(kChunk);
  std::vector<unsigned char> sealed(kChunk + kTag);
  int64_t done = 0;
  for (uint64_t index = 0;; ++index) {
    auto got = ReadFull(read, plain.data(), kChunk);
    if (!got.ok()) return got.status();
    done += static_cast<int64_t>(*got);
    if (done > plain_size) return Status::IoError("the file grew while it was being encrypted");
    const bool last = done == plain_size;
    if (!last && *got < kChunk) return Status::IoError("the file shrank while it was being encrypted");
    unsigned char nonce[12];
    NonceFor(header + 16, index, nonce);
    if (!Gcm(true, key, nonce, ChunkAad(header, index, last), reinterpret_cast<const unsigned char*>(plain.data()),
             *got, sealed.data(), sealed.data() + *got))
      return Status::Internal("AES-256-GCM encryption failed");
    CONVSTORE_RETURN_IF_ERROR(write(std::string_view(reinterpret_cast<const char*>(sealed.data()), *got + kTag)));
    if (progress) progress(done);
    if (last) return Status::OK();
  }
}

Status Unseal(int64_t sealed_size, const ReadFn& read, const WriteFn& write, const CipherKey& key,
              const std::function<void(int64_t)>& progress) {
  unsigned char header[kHeader];
  auto got = ReadFull(read, reinterpret_cast<char*>(header), kHeader);
  if (!got.ok()) return got.status();
  if (*got < kHeader || std::memcmp(header, kCipherMagic, 8) != 0)
    return Status::Corruption("not an encrypted convstore file (no CSTRENC1 header)");
  if (GetLe32(header + 8) != kVersion)
    return Status::Corruption(fmt::format("encrypted file format {} is not known to this build", GetLe32(header + 8)));
  const uint32_t chunk = GetLe32(header + 12);
  if (chunk == 0 || chunk > (64u << 20)) return Status::Corruption("encrypted file: bad chunk size");
  unsigned char check[kTag];
  KeyCheck(key, header, check);
  if (std::memcmp(check, header + 28, kTag) != 0)
    return Status::InvalidArgument("wrong encryption key (or the file's header is damaged)");
  std::vector<unsigned char> sealed(chunk + kTag);
  std::vector<unsigned char> plain(chunk + kTag);
  int64_t remaining = sealed_size - static_cast<int64_t>(kHeader);
  int64_t done = 0;
  for (uint64_t index = 0;; ++index) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(remaining, chunk + kTag));
    if (want < kTag) return Status::Corruption("encrypted file is truncated");
    auto n = ReadFull(read, reinterpret_cast<char*>(sealed.data()), want);
    if (!n.ok()) return n.status();
    if (*n != want) return Status::Corruption("encrypted file is truncated");
    remaining -= static_cast<int64_t>(want);
    const bool last = remaining == 0;
    const size_t body = want - kTag;
    unsigned char nonce[12];
    NonceFor(header + 16, index, nonce);
    if (!Gcm(false, key, nonce, ChunkAad(header, index, last), sealed.data(), body, plain.data(),
             sealed.data() + body))
      return Status::Corruption(fmt::format("encrypted file is damaged (chunk {} does not authenticate)", index));
    CONVSTORE_RETURN_IF_ERROR(write(std::string_view(reinterpret_cast<const char*>(plain.data()), body)));
    done += static_cast<int64_t>(body);
    if (progress) progress(done);
    if (last) return Status::OK();
    if (body < chunk) return Status::Corruption("encrypted file is damaged (a short chunk before the end)");
  }
}

Status Errno(const std::string& what) { return Status::IoError(fmt::format("{}: {}", what, std::strerror(errno))); }

// Runs fn(read, write, size) from file `in` into a new file `out`, with the durability guarantees of the header.
Status FileToFile(const std::string& in, const std::string& out,
                  const std::function<Status(int64_t, const ReadFn&, const WriteFn&)>& fn) {
  const int src = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("'{}' does not exist", in));
    return Errno(fmt::format("cannot open '{}'", in));
  }
  struct stat st {};
  if (::fstat(src, &st) != 0) {
    Status s = Errno(fmt::format("cannot stat '{}'", in));
    ::close(src);
    return s;
  }
  auto dst = util::CreateOwnerOnlyExclusive(out);
  if (!dst.ok()) {
    ::close(src);
    return dst.status();
  }
  ReadFn read = [&](char* buf, size_t n) -> Result<size_t> {
    for (;;) {
      const ssize_t r = ::read(src, buf, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno(fmt::format("cannot read '{}'", in));
      return static_cast<size_t>(r);
    }
  };
  WriteFn write = [&](std::string_view bytes) { return util::WriteAll(*dst, bytes, out); };
  Status s;
  try {
    s = fn(static_cast<int64_t>(st.st_size), read, write);
  } catch (const std::exception& e) {
    s = Status::Internal(e.what());
  }
  if (s.ok()) s = util::SyncDescriptor(*dst, fmt::format("'{}'", out));
  ::close(src);
  if (::close(*dst) != 0 && s.ok()) s = Errno(fmt::format("cannot close '{}'", out));
  if (!s.ok()) ::unlink(out.c_str());
  return s;
}

}  // namespace

Result<CipherKey> ParseCipherKey(std::string_view hex) {
  if (hex.size() != 64)
    return Status::InvalidArgument(
        fmt::format("an encryption key is 64 hex characters (32 bytes), not {} characters", hex.size()));
  CipherKey key{};
  for (size_t k = 0; k < 32; ++k) {
    int v = 0;
    for (size_t j = 0; j < 2; ++j) {
      const char c = hex[2 * k + j];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return Status::InvalidArgument("an encryption key holds a character that is not hex");
      v = v * 16 + d;
    }
    key[k] = static_cast<unsigned char>(v);
  }
  return key;
}

Result<bool> IsEncryptedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("'{}' does not exist", path));
    return Errno(fmt::format("cannot open '{}'", path));
  }
  char magic[8];
  const ssize_t n = ::read(fd, magic, sizeof magic);
  ::close(fd);
  return n == 8 && std::memcmp(magic, kCipherMagic, 8) == 0;
}

Status EncryptFile(const std::string& plain, const std::string& out, const CipherKey& key,
                   const std::function<void(int64_t)>& progress) {
  return FileToFile(plain, out, [&](int64_t size, const ReadFn& read, const WriteFn& write) {
    return Seal(size, read, write, key, progress);
  });
}

Status DecryptFile(const std::string& in, const std::string& out, const CipherKey& key,
                   const std::function<void(int64_t)>& progress) {
  return FileToFile(in, out, [&](int64_t size, const ReadFn& read, const WriteFn& write) {
    return Unseal(size, read, write, key, progress);
  });
}

namespace {

ReadFn ReadFrom(std::string_view bytes, size_t* pos) {
  return [bytes, pos](char* buf, size_t n) -> Result<size_t> {
    const size_t k = std::min(n, bytes.size() - *pos);
    std::memcpy(buf, bytes.data() + *pos, k);
    *pos += k;
    return k;
  };
}

}  // namespace

Result<std::string> EncryptBytes(std::string_view plain, const CipherKey& key) {
  std::string out;
  size_t pos = 0;
  CONVSTORE_RETURN_IF_ERROR(Seal(static_cast<int64_t>(plain.size()), ReadFrom(plain, &pos),
                                 [&](std::string_view b) {
                                   out.append(b);
                                   return Status::OK();
                                 },
                                 key, nullptr));
  return out;
}

Result<std::string> DecryptBytes(std::string_view sealed, const CipherKey& key) {
  std::string out;
  size_t pos = 0;
  CONVSTORE_RETURN_IF_ERROR(Unseal(static_cast<int64_t>(sealed.size()), ReadFrom(sealed, &pos),
                                   [&](std::string_view b) {
                                     out.append(b);
                                     return Status::OK();
                                   },
                                   key, nullptr));
  return out;
}

}  // namespace convstore::ops
