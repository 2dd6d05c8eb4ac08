// A full-text search, on the connection of the caller's read transaction (one snapshot).
//
// The filter's user, team and conversation become scope phrases of the MATCH expression (text_query.h), so FTS5
// intersects them with the words before anything is ranked; role, model and time are checked on the row, and the
// metadata filter by the caller's predicate on the row's stored document — all before the limit, so `limit` hits
// come back whenever that many rows match. Ranking is convstore_rank (text_rank.h: bm25 over the content), ties by
// the newest row (larger id) first. Then the hits' rows and snippets are read, for those hits only.
//
// Not thread-safe: one connection's transaction.
#pragma once
#include <functional>
#include <string_view>

#include "convstore/search.h"
#include "convstore/status.h"
#include "search/row_filter.h"
#include "sqlite/connection.h"

namespace convstore::search {

inline constexpr int kMaxHits = 1000;
inline constexpr int kMaxSnippetTokens = 64;
inline constexpr size_t kMaxMarkerBytes = 32;

// Checks what SearchText checks before touching the file (the query text, limits, markers, the filter's plain
// fields); the metadata filter is the caller's to compile.
Status ValidateQuery(const TextSearchQuery& query);

// `metadata`: the metadata filter, compiled by the caller (row_filter.h; empty: none).
Result<TextSearchResult> SearchText(sqlite::Connection& conn, const TextSearchQuery& query,
                                    const RowPredicate& metadata);

}  // namespace convstore::search
