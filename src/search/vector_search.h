// A vector search on the connection of the caller's read transaction (one snapshot), over the space's VectorCopy.
//
// The copy is brought up to the snapshot first. With a filter, the rows it selects (row_filter.h, every condition
// applied in SQL and the metadata predicate on each row) are mapped to their slots and only those are scored, so k
// hits come back whenever k rows with a vector match. Scoring runs the SIMD loops over the copy's contiguous rows
// (vector_kernels.h) keeping the best k + a margin; an int8 space scans its int8 rows and rescores the best
// k * rescore_factor exactly. Each candidate's vector id is then looked up in the snapshot: one that is gone (deleted
// by this process or another, by erasure, by retention) is forgotten and the scan runs again, so a deleted vector is
// never returned. Final scores are computed in double precision from the float32 rows; ties go to the newest row.
//
// Not thread-safe: one connection's transaction and one copy, both the caller's to serialise.
#pragma once
#include <optional>
#include <vector>

#include "convstore/status.h"
#include "convstore/vectors.h"
#include "search/row_filter.h"
#include "search/vector_index.h"
#include "search/vector_memory.h"
#include "sqlite/connection.h"

namespace convstore::search {

inline constexpr int kMaxK = 1000;
inline constexpr int kMaxRescoreFactor = 100;

// Checks what SearchVectors checks before touching the file (k, rescore factor, ef, the filter's plain fields; the
// vector against the space happens once the space is known).
Status ValidateVectorQuery(const VectorSearchQuery& query);

TextSearchTarget TargetOf(EmbeddingTarget target);

// The k nearest neighbours of query.vector among the copy's live rows the filter selects: exact, or with `index`
// (the space's approximate index over this copy, always brought up to date here) for an unfiltered query that
// does not ask for `exact`, the index's candidates scored exactly (plan "hnsw"; when the index yields fewer than k live rows
// the search scans after all).
Result<VectorSearchResult> SearchCopy(sqlite::Connection& conn, VectorCopy& copy, const VectorSearchQuery& query,
                                      const RowPredicate& metadata, VectorIndex* index = nullptr);

// recall@10 of `index` against the exact scan, over up to `queries` of the copy's live rows (evenly spread) as
// queries, each query's own row left out of both lists; nullopt with fewer than 11 live rows.
struct IndexRecall {
  double recall_at_10 = 0;
  int queries = 0;
};
Result<std::optional<IndexRecall>> MeasureIndexRecall(const VectorCopy& copy, VectorIndex& index, int queries);

// The same without a copy, for a space the memory budget leaves out: the space's vectors are read from the table
// in blocks and scored as they come (float32, exact; an int8 space too), holding only the best k + a margin.
Result<VectorSearchResult> SearchStreamed(sqlite::Connection& conn, const SpaceRow& space,
                                          const VectorSearchQuery& query, const RowPredicate& metadata);

}  // namespace convstore::search
