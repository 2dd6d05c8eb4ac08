#include "ops/archive_segment.h"

#include <cstring>

#include <fmt/format.h>

#include "ops/sha256.h"
#include "ops/zstd_codec.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

constexpr char kSegmentMagic[8] = {'C', 'S', 'T', 'R', 'S', 'E', 'G', '1'};
constexpr size_t kDigest = 64;
constexpr size_t kEntryHeader = 8 + 8 + 4 + 4 + 8;
// A decompressed segment never exceeds this (the limits above plus headers): a frame claiming more is refused
// before anything is allocated.
constexpr int64_t kMaxSegmentPayload = int64_t{1} << 32;

void Put(std::string* out, uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) out->push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

uint64_t Get(const char* p, int bytes) {
  uint64_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(p[k]);
  return v;
}

}  // namespace

Result<std::string> EncodeSegment(const std::vector<StoredEntry>& entries, const std::optional<CipherKey>& key) {
  if (entries.empty()) return Status::InvalidArgument("a segment holds at least one entry");
  std::string payload(kSegmentMagic, sizeof kSegmentMagic);
  Put(&payload, kSegmentFormat, 4);
  Put(&payload, entries.size(), 4);
  for (size_t i = 0; i < entries.size(); ++i) {
    const StoredEntry& e = entries[i];
    if (e.kind != EntryKind::kChanges)
      return Status::InvalidArgument(fmt::format("entry {} is a marker: segments hold changes only", e.seq));
    if (i > 0 && (e.seq != entries[i - 1].seq + 1 || e.committed_at < entries[i - 1].committed_at))
      return Status::InvalidArgument(fmt::format("entry {} does not follow entry {}", e.seq, entries[i - 1].seq));
    Put(&payload, static_cast<uint64_t>(e.seq), 8);
    Put(&payload, static_cast<uint64_t>(e.committed_at), 8);
    Put(&payload, static_cast<uint64_t>(e.kind), 4);
    Put(&payload, static_cast<uint64_t>(e.schema_version), 4);
    Put(&payload, e.changes.size(), 8);
    payload += e.changes;
  }
  payload += Sha256Hex(payload);
  auto compressed = Compress(payload);
  if (!compressed.ok() || !key) return compressed;
  return EncryptBytes(*compressed, *key);
}

Result<std::vector<StoredEntry>> DecodeSegment(std::string_view file, const std::optional<CipherKey>& key) {
  const bool sealed = file.size() >= 8 && std::memcmp(file.data(), "CSTRENC1", 8) == 0;
  if (sealed && !key) return Status::InvalidArgument("the segment is encrypted: give the archive's key");
  if (!sealed && key) return Status::Corruption("the segment is not encrypted, but the archive is");
  std::string opened;
  if (sealed) {
    auto plain = DecryptBytes(file, *key);
    if (!plain.ok()) return plain.status();
    opened = std::move(*plain);
    file = opened;
  }
  auto payload = Decompress(file, kMaxSegmentPayload);
  if (!payload.ok()) {
    if (payload.status().code() == Code::kTooLarge) return Status::Corruption(payload.status().message());
    return payload.status();
  }
  const std::string& p = *payload;
  if (p.size() < sizeof kSegmentMagic + 8 + kDigest || std::memcmp(p.data(), kSegmentMagic, sizeof kSegmentMagic) != 0)
    return Status::Corruption("not a convstore archive segment");
  const size_t body = p.size() - kDigest;
  if (Sha256Hex(std::string_view(p).substr(0, body)) != std::string_view(p).substr(body))
    return Status::Corruption("the segment's checksum does not match: it is damaged");
  if (Get(p.data() + 8, 4) != kSegmentFormat)
    return Status::Corruption(fmt::format("segment format {} is not known to this build", Get(p.data() + 8, 4)));
  const uint64_t count = Get(p.data() + 12, 4);
  std::vector<StoredEntry> entries;
  size_t pos = 16;
  for (uint64_t i = 0; i < count; ++i) {
    if (body - pos < kEntryHeader) return Status::Corruption("the segment ends inside an entry");
    StoredEntry e;
    e.seq = static_cast<int64_t>(Get(p.data() + pos, 8));
    e.committed_at = static_cast<int64_t>(Get(p.data() + pos + 8, 8));
    const uint64_t kind = Get(p.data() + pos + 16, 4);
    e.schema_version = static_cast<int>(Get(p.data() + pos + 20, 4));
    const uint64_t length = Get(p.data() + pos + 24, 8);
    pos += kEntryHeader;
    if (kind != static_cast<uint64_t>(EntryKind::kChanges)) return Status::Corruption("a segment entry is not changes");
    if (length > body - pos) return Status::Corruption("the segment ends inside an entry's changes");
    if (e.seq < 1 || (!entries.empty() && (e.seq != entries.back().seq + 1 ||
                                           e.committed_at < entries.back().committed_at)))
      return Status::Corruption(fmt::format("segment entry {} is out of order", e.seq));
    e.changes.assign(p.data() + pos, static_cast<size_t>(length));
    pos += static_cast<size_t>(length);
    entries.push_back(std::move(e));
  }
  if (pos != body || entries.empty()) return Status::Corruption("the segment's entries do not fill it");
  return entries;
}

}  // namespace convstore::ops
