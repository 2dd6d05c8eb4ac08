// JSON <-> C++ records of the sync capability (convstore/sync.h) for the C ABI. Internal to bindings/c; pure
// functions, thread-safe.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "convstore/sync.h"

namespace convstore::capi {

// {"postgres": str, "schema"?: str, "interval_ms"?: int, "batch_entries"?: int, "label"?: str}.
Result<SyncOptions> DecodeSyncOptions(std::string_view text);
std::string EncodeSyncReport(const SyncReport& report);
std::string EncodeSyncStatus(const SyncStatus& status);

// {"postgres": str, "schema"?: str, "when_unreachable"?: "refuse" | "local_allowance",
//  "local_allowance_usd"? | "local_allowance_nanousd"?}.
Result<GlobalBudgetOptions> DecodeGlobalBudgetOptions(std::string_view text);
std::string EncodeGlobalBudgets(const std::vector<GlobalBudgetState>& budgets);

}  // namespace convstore::capi
