// JSON <-> C++ records of the retention capability (convstore/retention.h) for the C ABI. Internal to bindings/c;
// pure functions, thread-safe.
#pragma once
#include <string>
#include <string_view>

#include "convstore/retention.h"
#include "convstore/status.h"

namespace convstore::capi {

// {"conversations_idle_us"?, "api_usage_us"?, "metrics_us"?, "audit_us"?, "journal_us"?}: integer microseconds,
// absent or null to keep forever.
Result<RetentionPolicy> DecodeRetentionPolicy(std::string_view text);
std::string EncodeRetentionPolicy(const RetentionPolicy& policy);
// {"batch_rows"?: int, "policy"?: policy}.
Result<RetentionOptions> DecodeRetentionOptions(std::string_view text);
std::string EncodeRetentionReport(const RetentionReport& report);
std::string EncodeRetentionStatus(const RetentionStatus& status);

}  // namespace convstore::capi
