// convstore/audit.h: the store's tamper-evident audit log — who did what, when, to which resource.
//
// Entries have the seed schema's audit_logs shape (time, actor, action, resource type and id, details, IP address,
// user agent). convstore writes one itself, in the same transaction as the change, for every administrative or
// destructive operation (deleting or editing messages and conversations, budget and price changes, index
// exclusions, journal settings, restores, erasing a user, retention runs); applications add their own with
// LogEvent. Entries form a SHA-256 hash chain: each entry's hash covers its sequence number, the previous entry's
// hash and every field, so VerifyAudit names the first entry that was changed, removed or inserted out of turn.
// A signed checkpoint (sequence number and head hash, Ed25519 with the caller's key) saved elsewhere also detects
// what the chain alone cannot: a cut-off tail or a chain rewritten from the start. docs/audit.md has the encoding.
//
// People appear by pseudonymous ids (32 hex digits minted per user on first need), never by their keys, which are
// often emails. The personal fields — IP address, user agent and `personal` details — are covered by the chain
// through a salted hash, so erasing a user removes them and the chain still verifies.
//
// Thread-safe as the store is.
#ifndef CONVSTORE_AUDIT_H_
#define CONVSTORE_AUDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

// Who is acting, for the entries convstore writes itself (and the default of LogEvent's fields). Set per calling
// thread and store handle with SetAuditContext: a server thread handling one person's request sets theirs.
struct AuditContext {
  std::string actor{};           // a role or service name ("billing-job"); not a person's key. "": "application"
  std::string actor_user_key{};  // the person acting, by their user key (stored as their pseudonymous id); "": none
  std::string ip_address{};      // IPv4 or IPv6 text ("" none); personal: removed by an erase
  std::string user_agent{};      // ("" none); personal: removed by an erase
};

struct AuditEventInput {
  std::string action{};            // required: 1-128 bytes of [a-z0-9._:-], e.g. "report.exported"
  std::string resource_type{};     // 0-128 bytes of the same characters ("conversation", "report")
  std::string resource_id{};       // free text, 0-256 bytes (an id, not a person's key)
  std::string actor{};             // "": the calling thread's AuditContext
  std::string actor_user_key{};    // "": the context's
  std::string subject_user_key{};  // the person the entry is about ("": none); must be a user of the store
  std::string details_json{};      // a JSON object without personal data ("" = {}); at most 1 MiB
  std::string personal_json{};     // a JSON object of details naming a person ("" = none); erasable
  std::string ip_address{};        // "": the context's
  std::string user_agent{};        // "": the context's
};

struct AuditEntry {
  int64_t seq = 0;                 // 1, 2, 3, ... in commit order; never reused
  Micros at = 0;                   // µs UTC; never decreases along seq
  std::string actor{};
  std::string actor_user{};        // pseudonymous id ("" none)
  std::string subject_user{};      // pseudonymous id ("" none)
  std::string action{};
  std::string resource_type{};
  std::string resource_id{};
  std::string details_json{};      // a JSON object
  std::string personal_json{};     // "" when none or erased
  std::string ip_address{};        // "" when none or erased
  std::string user_agent{};        // "" when none or erased
  bool personal_erased = false;    // the entry had personal fields and an erase removed them
  std::string hash{};              // 64 hex digits
  std::string prev_hash{};
};

struct AuditQuery {
  int64_t after_seq = 0;           // entries with seq > after_seq, oldest first
  std::optional<Micros> since{};   // at >= since
  std::optional<Micros> until{};   // at < until
  std::string action{};            // exact match ("" any)
  std::string resource_type{};
  std::string resource_id{};
  std::string actor{};
  std::string user_key{};          // entries by or about this user (their pseudonym); unknown key: none
  std::string pseudonym{};         // entries by or about this pseudonymous id
  int64_t limit = 100;             // 1-10,000
};

struct AuditPage {
  std::vector<AuditEntry> entries{};
  int64_t next_after_seq = 0;      // pass as after_seq for the next page (0: no more)
};

struct AuditVerification {
  bool ok = true;
  int64_t entries_checked = 0;
  int64_t first_seq = 0;           // the oldest entry kept (retention removes older ones)
  int64_t last_seq = 0;            // the head
  std::string head_hash{};         // of the head ("" for an empty log)
  int64_t first_bad_seq = 0;       // the first entry that does not verify (0 when ok)
  std::string problem{};           // what is wrong there ("" when ok)
  int64_t personal_erased = 0;     // entries whose personal fields an erase removed (they still verify)
};

// A signed statement "this log's entry `seq` has hash `hash`": export it (ToJson), keep it apart from the store,
// and check the store against it later with VerifyAuditCheckpoint.
struct AuditCheckpoint {
  std::string log_id{};            // the log's random id (32 hex digits): a checkpoint names one log
  int64_t seq = 0;
  std::string hash{};              // 64 hex digits
  Micros at = 0;                   // when the checkpoint was made
  std::string public_key{};        // Ed25519, 64 hex digits
  std::string signature{};         // Ed25519, 128 hex digits
};

struct AuditKeyPair {
  std::string private_key{};       // Ed25519 seed, 64 hex digits: keep it secret
  std::string public_key{};        // 64 hex digits
};

// The audit capability of a ConversationStore (a base of it: call these on the store). Non-virtual and without
// data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT Audit {
 public:
  // Sets who the calling thread acts as on this store handle, for the entries convstore writes itself and as
  // LogEvent's defaults; an empty context clears it. kNotFound for an unknown actor_user_key; kInvalidArgument
  // for a malformed IP address or over-long fields.
  Status SetAuditContext(const AuditContext& context);
  // Appends an application's entry (in its own transaction) and returns it. kInvalidArgument for a bad action,
  // type or JSON; kNotFound for an unknown user key; kTooLarge beyond the limits.
  Result<AuditEntry> LogEvent(const AuditEventInput& event);
  Result<AuditPage> ReadAudit(const AuditQuery& query);
  // Recomputes every hash of the chain in one read snapshot (writers go on). A damaged chain is a result with
  // ok = false naming the first bad entry, not an error.
  Result<AuditVerification> VerifyAudit();
  // Signs the current head with the caller's Ed25519 private key (64 hex digits). kInvalidArgument for a bad key;
  // kNotFound for an empty log.
  Result<AuditCheckpoint> CreateAuditCheckpoint(std::string_view private_key_hex);
  // Checks a saved checkpoint against the store: the signature (by `public_key_hex`, which must be the
  // checkpoint's), that it names this log, that entry `seq` still has that hash (so no rewrite) and still exists
  // or was removed by retention with that hash recorded (so no cut-off tail), and the chain from it to the head.
  // A failed check is a result with ok = false and the problem; kInvalidArgument for malformed input.
  Result<AuditVerification> VerifyAuditCheckpoint(const AuditCheckpoint& checkpoint, std::string_view public_key_hex);

 protected:
  Audit() = default;
  ~Audit() = default;
};

// A fresh Ed25519 key pair for checkpoints (OpenSSL's generator).
CONVSTORE_EXPORT Result<AuditKeyPair> GenerateAuditKeyPair();
// The public key of a private key (64 hex digits each).
CONVSTORE_EXPORT Result<std::string> AuditPublicKey(std::string_view private_key_hex);
// A checkpoint as a JSON document ({"format":"convstore-audit-checkpoint/1", ...}) and back. Parsing checks the
// shape only (kInvalidArgument); VerifyAuditCheckpoint checks the rest.
CONVSTORE_EXPORT std::string AuditCheckpointToJson(const AuditCheckpoint& checkpoint);
CONVSTORE_EXPORT Result<AuditCheckpoint> ParseAuditCheckpoint(std::string_view json);

}  // namespace convstore

#endif  // CONVSTORE_AUDIT_H_
