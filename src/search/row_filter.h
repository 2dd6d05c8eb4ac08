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

// The row's fields; false when the row is gone.
Result<bool> ReadHitRow(sqlite::Connection& conn, TextSearchTarget target, int64_t row, HitRow& out);

}  // namespace convstore::search
