// Archive segments: a run of consecutive journal entries in one file, as an archive ships them.
//
// A segment's bytes, before compression (format 1; integers little-endian):
//   0   8 bytes  magic "CSTRSEG1"
//   8   4        format (1)
//   12  4        number of entries (>= 1)
//   16  ...      entries: seq (8), committed_at (8), kind (4), schema_version (4), changes length (8), changes
//   end 64       SHA-256 of every byte before it, as lowercase hex
// The whole is one zstd frame; in an encrypted archive that frame is sealed with AES-256-GCM (file_cipher.h).
// Entries are consecutive (each seq one more than the previous) and their commit times never decrease; the file's
// name (archive_dir.h) repeats the first and last seq and the last commit time.
//
// Stateless functions; thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "ops/file_cipher.h"
#include "ops/journal.h"

namespace convstore::ops {

inline constexpr int kSegmentFormat = 1;
// A segment holds at most this many bytes of changes (more only when one entry alone is larger).
inline constexpr int64_t kSegmentMaxBytes = 16 << 20;
inline constexpr int64_t kSegmentMaxEntries = 20000;

// The file's bytes for `entries` (non-empty, consecutive, kChanges only), compressed and sealed under `key` when
// given.
Result<std::string> EncodeSegment(const std::vector<StoredEntry>& entries, const std::optional<CipherKey>& key);

// Checks and decodes a segment file's bytes: kCorruption when anything is wrong (a damaged byte fails the
// checksum, the compression or the seal), kInvalidArgument for a wrong or missing key.
Result<std::vector<StoredEntry>> DecodeSegment(std::string_view file, const std::optional<CipherKey>& key);

}  // namespace convstore::ops
