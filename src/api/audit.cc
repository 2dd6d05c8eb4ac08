// The audit log's entry points (convstore/audit.h) and the entries convstore writes itself (StoreImpl::Audited).
#include <arpa/inet.h>

#include <atomic>
#include <unordered_map>

#include <fmt/format.h>

#include "api/store_impl.h"
#include "convstore/limits.h"
#include "ops/audit_chain.h"
#include "ops/audit_log.h"
#include "records/lookups.h"
#include "records/pseudonyms.h"
#include "util/json_input.h"

namespace convstore::api {

namespace {

constexpr int64_t kMaxAuditRead = 10000;
constexpr size_t kMaxAuditNameBytes = 128;

// The calling thread's context per store handle (by the handle's instance number, never reused).
thread_local std::unordered_map<uint64_t, AuditActor> t_audit_actors;

Status CheckName(std::string_view value, std::string_view what, bool required) {
  return util::CheckName(value, what, kMaxAuditNameBytes, required);
}

Status CheckIp(std::string_view ip) {
  if (ip.empty()) return Status::OK();
  if (ip.size() > 64) return Status::InvalidArgument("ip_address is not an IPv4 or IPv6 address");
  const std::string text(ip);
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1) return Status::OK();
  return Status::InvalidArgument(fmt::format("ip_address '{}' is not an IPv4 or IPv6 address", text));
}

Status CheckActor(std::string_view actor) {
  return actor.empty() ? Status::OK() : util::CheckKey(actor, "actor");
}

Status CheckUserAgent(std::string_view agent) { return util::CheckText(agent, "user_agent", limits::kMaxNameBytes); }

std::optional<std::string> NonEmpty(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return std::string(s);
}

// The pseudonymous id of the user with `key` (minted when needed); kNotFound for an unknown user.
Result<std::string> PseudonymOfKey(sqlite::Connection& conn, std::string_view key, int64_t now) {
  auto user = records::FindUserId(conn, key);
  if (!user.ok()) return user.status();
  return records::PseudonymOf(conn, *user, now);
}

}  // namespace

AuditActor StoreImpl::CurrentAuditActor() const {
  auto it = t_audit_actors.find(instance_id_);
  return it == t_audit_actors.end() ? AuditActor{} : it->second;
}

Status StoreImpl::Audited(sqlite::Connection& conn, const AuditActor& who, AuditNote note) {
  ops::AuditRecord r;
  r.actor = who.actor;
  r.actor_user = who.actor_user;
  if (note.subject_user_id) {
    auto pseudonym = records::PseudonymOf(conn, *note.subject_user_id, Now());
    if (!pseudonym.ok()) return pseudonym.status();
    r.subject_user = std::move(*pseudonym);
  }
  r.action = note.action;
  r.resource_type = note.resource_type;
  r.resource_id = std::move(note.resource_id);
  r.details = std::move(note.details);
  r.ip_address = who.ip_address;
  r.user_agent = who.user_agent;
  r.personal = std::move(note.personal);
  auto appended = ops::AppendAudit(conn, r, Now());
  return appended.status();
}

Status StoreImpl::DoSetAuditContext(const AuditContext& context) {
  CONVSTORE_RETURN_IF_ERROR(CheckActor(context.actor));
  if (!context.actor_user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(context.actor_user_key, "actor_user_key"));
  CONVSTORE_RETURN_IF_ERROR(CheckIp(context.ip_address));
  CONVSTORE_RETURN_IF_ERROR(CheckUserAgent(context.user_agent));
  AuditActor who;
  if (!context.actor.empty()) who.actor = context.actor;
  who.ip_address = NonEmpty(context.ip_address);
  who.user_agent = NonEmpty(context.user_agent);
  if (!context.actor_user_key.empty()) {
    // Resolved now (minting the pseudonymous id in a write when the user has none), so the entries written later
    // need no lookup and still name the person after their key changes hands.
    auto known = Read("set_audit_context", [&](sqlite::Connection& conn) -> Result<std::optional<std::string>> {
      auto user = records::FindUserId(conn, context.actor_user_key);  // kNotFound for an unknown user
      if (!user.ok()) return user.status();
      return records::FindPseudonymOfKey(conn, context.actor_user_key);
    });
    if (!known.ok()) return known.status();
    if (*known) {
      who.actor_user = std::move(**known);
    } else {
      auto minted = Write("set_audit_context", [&](sqlite::Connection& conn) {
        return PseudonymOfKey(conn, context.actor_user_key, Now());
      });
      if (!minted.ok()) return minted.status();
      who.actor_user = std::move(*minted);
    }
  }
  const bool empty = context.actor.empty() && context.actor_user_key.empty() && context.ip_address.empty() &&
                     context.user_agent.empty();
  if (empty)
    t_audit_actors.erase(instance_id_);
  else
    t_audit_actors[instance_id_] = std::move(who);
  return Status::OK();
}

Result<AuditEntry> StoreImpl::DoLogEvent(const AuditEventInput& event) {
  CONVSTORE_RETURN_IF_ERROR(CheckName(event.action, "action", true));
  CONVSTORE_RETURN_IF_ERROR(CheckName(event.resource_type, "resource_type", false));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(event.resource_id, "resource_id", limits::kMaxKeyBytes));
  if (event.resource_id.find('\0') != std::string::npos)
    return Status::InvalidArgument("resource_id holds a NUL byte");
  CONVSTORE_RETURN_IF_ERROR(CheckActor(event.actor));
  if (!event.actor_user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(event.actor_user_key, "actor_user_key"));
  if (!event.subject_user_key.empty())
    CONVSTORE_RETURN_IF_ERROR(util::CheckKey(event.subject_user_key, "subject_user_key"));
  CONVSTORE_RETURN_IF_ERROR(CheckIp(event.ip_address));
  CONVSTORE_RETURN_IF_ERROR(CheckUserAgent(event.user_agent));
  auto details = util::NormalizeJson(event.details_json, "details", limits::kMaxMetadataBytes, true);
  if (!details.ok()) return details.status();
  std::optional<std::string> personal;
  if (!event.personal_json.empty()) {
    auto normalized = util::NormalizeJson(event.personal_json, "personal", limits::kMaxMetadataBytes, true);
    if (!normalized.ok()) return normalized.status();
    personal = std::move(*normalized);
  }
  const AuditActor context = CurrentAuditActor();
  return Write("log_event", [&](sqlite::Connection& conn) -> Result<AuditEntry> {
    ops::AuditRecord r;
    r.actor = event.actor.empty() ? context.actor : event.actor;
    if (!event.actor_user_key.empty()) {
      auto who = PseudonymOfKey(conn, event.actor_user_key, Now());
      if (!who.ok()) return who.status();
      r.actor_user = std::move(*who);
    } else {
      r.actor_user = context.actor_user;
    }
    if (!event.subject_user_key.empty()) {
      auto subject = PseudonymOfKey(conn, event.subject_user_key, Now());
      if (!subject.ok()) return subject.status();
      r.subject_user = std::move(*subject);
    }
    r.action = event.action;
    r.resource_type = event.resource_type;
    r.resource_id = event.resource_id;
    r.details = *details;
    r.ip_address = event.ip_address.empty() ? context.ip_address : NonEmpty(event.ip_address);
    r.user_agent = event.user_agent.empty() ? context.user_agent : NonEmpty(event.user_agent);
    r.personal = personal;
    return ops::AppendAudit(conn, r, Now());
  });
}

Result<AuditPage> StoreImpl::DoReadAudit(const AuditQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(query.limit, 1, kMaxAuditRead, "limit"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(query.after_seq, 0, INT64_MAX, "after_seq"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(query.since, "since"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(query.until, "until"));
  if (query.since && query.until && *query.since > *query.until) return Status::InvalidArgument("since is after until");
  CONVSTORE_RETURN_IF_ERROR(CheckName(query.action, "action", false));
  CONVSTORE_RETURN_IF_ERROR(CheckName(query.resource_type, "resource_type", false));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(query.resource_id, "resource_id", limits::kMaxKeyBytes));
  CONVSTORE_RETURN_IF_ERROR(CheckActor(query.actor));
  if (!query.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(query.user_key, "user_key"));
  if (!query.pseudonym.empty() && !ops::FromHex(query.pseudonym, 16))
    return Status::InvalidArgument("pseudonym is not 32 hex digits");
  if (!query.user_key.empty() && !query.pseudonym.empty())
    return Status::InvalidArgument("give user_key or pseudonym, not both");
  return Read("read_audit", [&](sqlite::Connection& conn) -> Result<AuditPage> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    std::optional<std::string> pseudonym = NonEmpty(query.pseudonym);
    if (!query.user_key.empty()) {
      auto found = records::FindPseudonymOfKey(conn, query.user_key);
      if (!found.ok()) return found.status();
      if (!*found) return AuditPage{};  // an unknown user, or one no entry names
      pseudonym = std::move(**found);
    }
    return ops::ReadAudit(conn, query, pseudonym);
  });
}

Result<AuditVerification> StoreImpl::DoVerifyAudit() {
  return Read("verify_audit", [&](sqlite::Connection& conn) -> Result<AuditVerification> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return ops::VerifyAuditChain(conn);
  });
}

Result<AuditCheckpoint> StoreImpl::DoCreateAuditCheckpoint(std::string_view private_key_hex) {
  auto key = ops::FromHex(private_key_hex, 32);
  if (!key) return Status::InvalidArgument("the private key must be 64 hex digits (an Ed25519 seed)");
  auto public_key = ops::PublicKeyOf(*key);
  if (!public_key.ok()) return public_key.status();
  auto head = Read("create_audit_checkpoint", [&](sqlite::Connection& conn) -> Result<ops::AuditHead> {
    return ops::ReadAuditHead(conn);
  });
  if (!head.ok()) return head.status();
  if (head->seq == 0) return Status::NotFound("the audit log is empty: there is nothing to checkpoint");
  AuditCheckpoint c;
  c.log_id = ops::ToHex(head->log_id);
  c.seq = head->seq;
  c.hash = ops::ToHex(head->hash);
  c.at = Now();
  c.public_key = ops::ToHex(*public_key);
  auto signature = ops::SignCheckpoint(*key, head->log_id, c.seq, head->hash, c.at);
  if (!signature.ok()) return signature.status();
  c.signature = ops::ToHex(*signature);
  return c;
}

Result<AuditVerification> StoreImpl::DoVerifyAuditCheckpoint(const AuditCheckpoint& checkpoint,
                                                             std::string_view public_key_hex) {
  auto public_key = ops::FromHex(public_key_hex, 32);
  if (!public_key) return Status::InvalidArgument("the public key must be 64 hex digits (Ed25519)");
  auto log_id = ops::FromHex(checkpoint.log_id, ops::kAuditLogIdBytes);
  auto hash = ops::FromHex(checkpoint.hash, ops::kAuditHashBytes);
  auto signature = ops::FromHex(checkpoint.signature, 64);
  if (!log_id || !hash || !signature || checkpoint.seq < 1)
    return Status::InvalidArgument("the checkpoint is malformed (log_id, seq, hash or signature)");
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(checkpoint.at, "checkpoint time"));
  return Read("verify_audit_checkpoint", [&](sqlite::Connection& conn) -> Result<AuditVerification> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    auto v = ops::VerifyAuditChain(conn);
    if (!v.ok()) return v.status();
    auto fail = [&](std::string problem) {
      v->ok = false;
      v->first_bad_seq = checkpoint.seq;
      v->problem = std::move(problem);
      return std::move(*v);
    };
    if (!public_key_hex.empty() && !checkpoint.public_key.empty() &&
        ops::FromHex(checkpoint.public_key, 32) != public_key)
      return fail("the checkpoint was signed with another key than the one given");
    if (Status s = ops::CheckCheckpointSignature(*public_key, *log_id, checkpoint.seq, *hash, checkpoint.at,
                                                 *signature);
        !s.ok())
      return fail(s.message());
    auto head = ops::ReadAuditHead(conn);
    if (!head.ok()) return head.status();
    if (head->log_id != *log_id) return fail("the checkpoint is of another audit log (its log_id differs)");
    if (!v->ok) return std::move(*v);  // the chain itself is damaged: that is the first problem
    if (head->seq < checkpoint.seq)
      return fail(fmt::format("the log ends at entry {}, but the checkpoint saw entry {}: its tail was cut off",
                              head->seq, checkpoint.seq));
    if (checkpoint.seq <= head->pruned_through_seq) {
      // Removed by retention: only the cut itself still carries a hash to compare.
      if (checkpoint.seq == head->pruned_through_seq && head->pruned_through_hash != *hash)
        return fail(fmt::format("entry {} had another hash when the checkpoint was made: the chain was rewritten",
                                checkpoint.seq));
      return std::move(*v);
    }
    auto stored = ops::AuditEntryHash(conn, checkpoint.seq);
    if (!stored.ok()) return stored.status();
    if (!*stored) return fail(fmt::format("entry {} is missing", checkpoint.seq));
    if (**stored != *hash)
      return fail(fmt::format("entry {} had another hash when the checkpoint was made: the chain was rewritten",
                              checkpoint.seq));
    return std::move(*v);
  });
}

}  // namespace convstore::api
