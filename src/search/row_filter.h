// The rows a SearchFilter selects, for searches that rank a candidate set of their own (vector search): every
// filter applied in SQL (user, team, conversation, role, model, time) and the metadata predicate on each row's
// stored document, before anything is ranked. And the row a hit shows.
//
// Not thread-safe: one connection's transaction.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/search.h"
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::search {

// Checks a filter's plain fields (keys, role, model, times) for a search of `target`.
Status ValidateFilter(const SearchFilter& filter, TextSearchTarget target);

// Whether a row's stored metadata document matches (compiled by the caller). Empty: no metadata filter.
using RowPredicate = std::function<bool(std::string_view document)>;

// The filter's keys as row ids (nullopt: not given); `none` when a key names no row, so nothing matches.
struct FilterRows {
  std::optional<int64_t> user, team, conversation;
  bool none = false;
};
Result<FilterRows> ResolveFilterKeys(sqlite::Connection& conn, const SearchFilter& filter);

// Whether the filter restricts anything (a metadata predicate counts).
bool Restricts(const SearchFilter& filter, const RowPredicate& metadata);

// The row ids (messages.id or conversations.id) the filter selects, ascending. An unknown user, team or
// conversation selects nothing.
Result<std::vector<int64_t>> RowsMatching(sqlite::Connection& conn, TextSearchTarget target,
                                          const SearchFilter& filter, const RowPredicate& metadata);

// What a hit shows of its row.
struct HitRow {
  std::string message_id, conversation_id, conversation_title, user_key, role, model, content;
  int64_t created_at = 0;
};

// Copies what a hit shows of its row between records that have those fields (HitRow, TextSearchHit, VectorHit).
template <typename From, typename To>
void CopyHitRow(const From& from, To& to) {
  to.message_id = from.message_id;
  to.conversation_id = from.conversation_id;
  to.conversation_title = from.conversation_title;
  to.user_key = from.user_key;
  to.role = from.role;
  to.model = from.model;
  to.content = from.content;
  to.created_at = from.created_at;
}

// The row's fields; false when the row is gone.
Result<bool> ReadHitRow(sqlite::Connection& conn, TextSearchTarget target, int64_t row, HitRow& out);

}  // namespace convstore::search
