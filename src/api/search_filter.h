// The metadata part of a search filter (full text, vectors), compiled once per call into a row predicate.
//
// Not thread-safe: `predicate` refers to `compiled`, both the caller's, for one call.
#pragma once
#include <optional>

#include "convstore/search.h"
#include "convstore/status.h"
#include "metadata/filter.h"
#include "search/row_filter.h"

namespace convstore::api {

// Leaves both empty when the filter has no metadata condition.
Status CompileMetadata(const SearchFilter& filter, std::optional<metadata::CompiledFilter>& compiled,
                       search::RowPredicate& predicate);

}  // namespace convstore::api
