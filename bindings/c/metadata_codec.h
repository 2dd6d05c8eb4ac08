// JSON codec of the C ABI's metadata calls: search queries, results, plans and index reports.
// Pure functions; thread-safe. Decoders refuse unknown fields and wrong types with kInvalidArgument.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "convstore/metadata.h"
#include "convstore/status.h"

namespace convstore::capi {

Result<MetadataQuery> DecodeMetadataQuery(std::string_view json);
// A JSON array of path strings.
Result<std::vector<std::string>> DecodePathList(std::string_view json);

std::string EncodeMetadataSearchResult(const MetadataSearchResult& r);
std::string EncodeMetadataPlan(const MetadataPlan& p);
std::string EncodeMetadataIndexReport(const MetadataIndexReport& r);

}  // namespace convstore::capi
