// Reading only the part of a stored metadata document a filter looks at: the members of the top-level object
// whose keys the filter names are parsed, every other member is skipped over without building it. A filter reads
// nothing outside its paths, so it decides the same on the projection as on the whole document — and a document
// of 600 keys costs a scan instead of 600 allocations.
//
// Stateless; thread-safe.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace convstore::metadata {

// The members of the JSON object `text` whose keys are in `keys` (sorted), as an object; nullopt when `text` is
// not a well-formed object (as far as the scan reads it) or a kept member does not parse.
std::optional<nlohmann::json> ParseMembers(std::string_view text, const std::vector<std::string>& keys);

}  // namespace convstore::metadata
