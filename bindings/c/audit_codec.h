// JSON <-> C++ records of the audit capability (convstore/audit.h) for the C ABI. Internal to bindings/c; pure
// functions, thread-safe.
#pragma once
#include <string>
#include <string_view>

#include "convstore/audit.h"
#include "convstore/status.h"

namespace convstore::capi {

// {"actor"?, "actor_user_key"?, "ip_address"?, "user_agent"?} (strings).
Result<AuditContext> DecodeAuditContext(std::string_view text);
// {"action": str, "resource_type"?, "resource_id"?, "actor"?, "actor_user_key"?, "subject_user_key"?,
//  "details"?: object, "personal"?: object, "ip_address"?, "user_agent"?}.
Result<AuditEventInput> DecodeAuditEvent(std::string_view text);
// {"after_seq"?, "since"?, "until"?, "action"?, "resource_type"?, "resource_id"?, "actor"?, "user_key"?,
//  "pseudonym"?, "limit"?}.
Result<AuditQuery> DecodeAuditQuery(std::string_view text);
std::string EncodeAuditEntry(const AuditEntry& entry);
std::string EncodeAuditPage(const AuditPage& page);
std::string EncodeAuditVerification(const AuditVerification& v);
// The checkpoint's JSON document (AuditCheckpointToJson) both ways.
std::string EncodeAuditCheckpoint(const AuditCheckpoint& checkpoint);
std::string EncodeAuditKeyPair(const AuditKeyPair& keys);

}  // namespace convstore::capi
