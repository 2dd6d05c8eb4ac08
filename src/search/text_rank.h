// convstore_rank(fts_table, scope_phrases): FTS5's bm25 restricted to the `content` column, registered on a
// connection through FTS5's extension API.
//
// FTS5's own bm25() measures a row's length and the average length over all columns, so the filter tokens of the
// `scope` column (text_index.h) would shift every score. This function computes the same formula — k1 = 1.2,
// b = 0.75, idf = ln((N - n + 0.5) / (n + 0.5)) floored at 1e-6, the same operations in the same order — over the
// content column alone, and over the query's first phrases only (the caller's; the last `scope_phrases` phrases are
// the filter's). So a score equals what bm25() gives on a table holding only the rows' content. Lower is better,
// as with bm25().
//
// Not thread-safe: register on a connection before it is shared.
#pragma once
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::search {

Status RegisterRankFunction(sqlite::Connection& conn);

}  // namespace convstore::search
