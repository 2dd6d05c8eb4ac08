// The audit log's rows: appending an entry to the hash chain, reading entries, verifying the chain, and the
// checkpoint facts (log id, an entry's hash). The chain's encoding is in audit_chain.h.
//
// Every function works inside the caller's transaction: an entry is appended in the transaction of the change it
// records, and reads and the verification see one snapshot. Appending reads the head (the last entry, or where
// retention cut the chain) and continues from it; SQLite's write lock orders entries across processes, and an
// entry's time is max(now, the previous entry's time), so times never decrease along the sequence.
//
// Stateless functions over a connection: thread-safe as the connection is (one thread at a time).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "convstore/audit.h"
#include "convstore/status.h"
#include "sqlite/connection.h"
#include "sqlite/value.h"

namespace convstore::ops {

// An entry to append, checked by the caller (JSON normalised, pseudonyms resolved).
struct AuditRecord {
  std::string actor;
  std::optional<std::string> actor_user;    // pseudonymous ids
  std::optional<std::string> subject_user;
  std::string action;
  std::string resource_type;
  std::string resource_id;
  std::string details = "{}";               // a compact JSON object
  std::optional<std::string> ip_address;
  std::optional<std::string> user_agent;
  std::optional<std::string> personal;      // a compact JSON object
};

Result<AuditEntry> AppendAudit(sqlite::Connection& conn, const AuditRecord& record, int64_t now);

// A page of entries matching `query`, oldest first. `pseudonym` (already resolved from query.user_key or
// query.pseudonym) keeps entries by or about that person.
Result<AuditPage> ReadAudit(sqlite::Connection& conn, const AuditQuery& query,
                            const std::optional<std::string>& pseudonym);

// How many entries are by or about this pseudonymous id.
Result<int64_t> CountAuditAbout(sqlite::Connection& conn, std::string_view pseudonym);

// Recomputes the chain from where retention left it to the head.
Result<AuditVerification> VerifyAuditChain(sqlite::Connection& conn);

// The log's id (16 bytes) and its newest entry (seq 0 and no hash for an empty log).
struct AuditHead {
  std::string log_id;
  int64_t seq = 0;
  std::string hash;               // 32 bytes (zeros for an empty log)
  int64_t at = 0;                 // the newest entry's time (0 when retention removed every entry)
  int64_t pruned_through_seq = 0; // entries up to this one were removed by retention
  std::string pruned_through_hash;
};
Result<AuditHead> ReadAuditHead(sqlite::Connection& conn);

// Retention: removes up to `max_entries` of the oldest entries written before `before_at` — never the newest entry,
// which the chain continues from — records the cut (the last removed entry and its hash) in audit_state and appends
// an "audit.pruned" entry naming it (details: entries, through_seq, through_hash), so VerifyAuditChain can tell a
// recorded cut from entries removed behind convstore's back. Returns the number removed (0: nothing to do, and
// nothing written).
struct AuditPruneReport {
  int64_t removed = 0;
  int64_t through_seq = 0;
};
Result<AuditPruneReport> PruneAudit(sqlite::Connection& conn, int64_t before_at, int64_t max_entries,
                                    const std::string& actor, int64_t now);

// Erasure: removes the personal fields (IP address, user agent, personal details and their salt) of every entry by
// or about `pseudonym`, keeping their hash, so each entry still verifies (VerifyAuditChain counts them as
// personal_erased). Returns the sequence numbers of the entries changed.
Result<std::vector<int64_t>> StripAuditPersonal(sqlite::Connection& conn, std::string_view pseudonym);
// The columns StripAuditPersonal empties, with the value each holds afterwards (NULL): what a journal redaction
// writes into earlier changes of those entries.
const std::map<std::string, sqlite::Value>& AuditStrippedValues();
// The columns naming the people an entry is by and about (pseudonymous ids).
inline constexpr const char* kAuditPersonColumns[] = {"actor_user", "subject_user"};

// The stored hash of entry `seq` (32 bytes), nullopt when the log holds no such entry.
Result<std::optional<std::string>> AuditEntryHash(sqlite::Connection& conn, int64_t seq);

}  // namespace convstore::ops
