// The opaque keyset cursor of conversation lists: the (updated_at, row id) of the last item returned.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace convstore::records {

struct ListCursor {
  int64_t updated_at;
  int64_t row_id;
};

std::string EncodeCursor(const ListCursor& c);
// nullopt for text that no EncodeCursor produced.
std::optional<ListCursor> DecodeCursor(std::string_view text) noexcept;

}  // namespace convstore::records
