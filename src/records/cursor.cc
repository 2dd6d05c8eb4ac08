#include "records/cursor.h"

#include <charconv>

#include <fmt/format.h>

namespace convstore::records {

// "c1.<updated_at hex>.<row id hex>": versioned so the format can change without misreading old cursors.
std::string EncodeCursor(const ListCursor& c) {
  return fmt::format("c1.{:x}.{:x}", static_cast<uint64_t>(c.updated_at), static_cast<uint64_t>(c.row_id));
}

std::optional<ListCursor> DecodeCursor(std::string_view text) noexcept {
  if (text.size() < 6 || text.substr(0, 3) != "c1.") return std::nullopt;
  text.remove_prefix(3);
  size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= text.size()) return std::nullopt;
  uint64_t u = 0, r = 0;
  auto parse = [](std::string_view s, uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return ec == std::errc() && p == s.data() + s.size() && s.size() <= 16;
  };
  if (!parse(text.substr(0, dot), u) || !parse(text.substr(dot + 1), r)) return std::nullopt;
  if (u > static_cast<uint64_t>(INT64_MAX) || r > static_cast<uint64_t>(INT64_MAX) || r == 0) return std::nullopt;
  return ListCursor{static_cast<int64_t>(u), static_cast<int64_t>(r)};
}

}  // namespace convstore::records
