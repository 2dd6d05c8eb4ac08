#include "ops/zstd_codec.h"

#include <zstd.h>

#include <fmt/format.h>

namespace convstore::ops {

Result<std::string> Compress(std::string_view bytes, int level) {
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), level);
  if (ZSTD_isError(n)) return Status::Internal(fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

Result<std::string> Decompress(std::string_view frame, int64_t max_bytes) {
  // The frame must be exactly the input: trailing bytes mean a damaged or concatenated file.
  const size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size) || frame_size != frame.size())
    return Status::Corruption("not one complete zstd frame");
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    return Status::Corruption("a zstd frame without its content size");
  if (size > static_cast<unsigned long long>(max_bytes))
    return Status::TooLarge(fmt::format("a zstd frame of {} bytes, more than the {} allowed", size, max_bytes));
  std::string out(static_cast<size_t>(size), '\0');
  const size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n)) return Status::Corruption(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  if (n != out.size()) return Status::Corruption("a zstd frame shorter than its header says");
  return out;
}

}  // namespace convstore::ops
