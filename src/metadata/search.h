// Metadata search: the planner and executor behind ConversationStore::SearchMetadata.
//
// Plan: look up the count of every posting list the filter needs; walk the smallest (newest first, from the
// cursor, within the time range) in batches; drop candidates missing from the other lists (point probes, most
// selective first); fetch the survivors' documents and check the whole filter and the ordinary filters. Rows not
// in the posting lists (the unfolded tail, oversized documents) are checked directly and merged in order. Without
// any usable list the walk goes over the list of every document, bounded by scan_limit.
// Thread-safety: runs on the caller's connection inside its read transaction.
#pragma once
#include "convstore/metadata.h"
#include "metadata/filter.h"
#include "sqlite/connection.h"

namespace convstore::metadata {

// Checks everything that needs no database (limits, cursor, filter syntax); returns the compiled filter.
Result<CompiledFilter> ValidateQuery(const MetadataQuery& query);

// Runs a validated query with its compiled filter.
Result<MetadataSearchResult> Search(sqlite::Connection& conn, const MetadataQuery& query,
                                    const CompiledFilter& filter);

}  // namespace convstore::metadata
