// The cost report as one self-contained HTML page (`convstore report --html`): inline CSS and SVG charts drawn
// here, no script, no font or image fetched — it opens the same offline, in a mail attachment or an archive. Reads
// the C API's cost-report JSON (convstore_cost_report); every number shown is one of its numbers, and each chart
// element carries the exact value in data-* attributes (nano-dollars, µs) for tools and tests.
//
// Pure functions; thread-safe.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace convstore::cli {

// `report` is convstore_cost_report's output; `title` names the store (escaped here).
std::string CostReportHtml(const nlohmann::json& report, const std::string& title);

// Money as people read it: "$1,234.57" (cents, half up) at $1 and above, four decimals below ("$0.0042").
std::string FormatUsd(int64_t nanousd);

// The colour of the model at `index` in the report's model order (the last colour is shared by the rest).
const char* ModelColour(size_t index);
inline constexpr size_t kModelColours = 10;

}  // namespace convstore::cli
