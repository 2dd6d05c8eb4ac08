#include "audit_codec.h"

#include "json_fields.h"

namespace convstore::capi {
namespace {

void WriteEntry(JsonWriter& w, const AuditEntry& e) {
  w.BeginObject();
  w.Key("seq").Int(e.seq);
  WriteTime(w, "at", e.at);
  w.Key("actor").String(e.actor);
  w.Key("actor_user").String(e.actor_user);
  w.Key("subject_user").String(e.subject_user);
  w.Key("action").String(e.action);
  w.Key("resource_type").String(e.resource_type);
  w.Key("resource_id").String(e.resource_id);
  w.Key("details").Raw(e.details_json);  // a stored JSON object (checked on the way out of the store)
  w.Key("personal");
  if (e.personal_json.empty()) w.Null(); else w.Raw(e.personal_json);
  w.Key("ip_address").String(e.ip_address);
  w.Key("user_agent").String(e.user_agent);
  w.Key("personal_erased").Bool(e.personal_erased);
  w.Key("hash").String(e.hash);
  w.Key("prev_hash").String(e.prev_hash);
  w.EndObject();
}

}  // namespace

Result<AuditContext> DecodeAuditContext(std::string_view text) {
  return DecodeObject<AuditContext>(text, "audit context", [](Fields& f, AuditContext& c) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("actor", c.actor));
    CONVSTORE_RETURN_IF_ERROR(f.Str("actor_user_key", c.actor_user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("ip_address", c.ip_address));
    return f.Str("user_agent", c.user_agent);
  });
}

Result<AuditEventInput> DecodeAuditEvent(std::string_view text) {
  return DecodeObject<AuditEventInput>(text, "audit event", [](Fields& f, AuditEventInput& e) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("action", e.action));
    CONVSTORE_RETURN_IF_ERROR(f.Str("resource_type", e.resource_type));
    CONVSTORE_RETURN_IF_ERROR(f.Str("resource_id", e.resource_id));
    CONVSTORE_RETURN_IF_ERROR(f.Str("actor", e.actor));
    CONVSTORE_RETURN_IF_ERROR(f.Str("actor_user_key", e.actor_user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("subject_user_key", e.subject_user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Doc("details", e.details_json, true));
    CONVSTORE_RETURN_IF_ERROR(f.Doc("personal", e.personal_json, true));
    CONVSTORE_RETURN_IF_ERROR(f.Str("ip_address", e.ip_address));
    return f.Str("user_agent", e.user_agent);
  });
}

Result<AuditQuery> DecodeAuditQuery(std::string_view text) {
  return DecodeObject<AuditQuery>(text, "audit query", [](Fields& f, AuditQuery& q) -> Status {
    std::optional<int64_t> after, limit;
    CONVSTORE_RETURN_IF_ERROR(f.Int("after_seq", after));
    CONVSTORE_RETURN_IF_ERROR(f.Int("limit", limit));
    if (after) q.after_seq = *after;
    if (limit) q.limit = *limit;
    CONVSTORE_RETURN_IF_ERROR(f.Time("since", q.since));
    CONVSTORE_RETURN_IF_ERROR(f.Time("until", q.until));
    CONVSTORE_RETURN_IF_ERROR(f.Str("action", q.action));
    CONVSTORE_RETURN_IF_ERROR(f.Str("resource_type", q.resource_type));
    CONVSTORE_RETURN_IF_ERROR(f.Str("resource_id", q.resource_id));
    CONVSTORE_RETURN_IF_ERROR(f.Str("actor", q.actor));
    CONVSTORE_RETURN_IF_ERROR(f.Str("user_key", q.user_key));
    return f.Str("pseudonym", q.pseudonym);
  });
}

std::string EncodeAuditEntry(const AuditEntry& entry) {
  JsonWriter w;
  WriteEntry(w, entry);
  return w.Take();
}

std::string EncodeAuditPage(const AuditPage& page) {
  JsonWriter w;
  w.BeginObject().Key("entries").BeginArray();
  for (const AuditEntry& e : page.entries) WriteEntry(w, e);
  w.EndArray().Key("next_after_seq").Int(page.next_after_seq).EndObject();
  return w.Take();
}

std::string EncodeAuditVerification(const AuditVerification& v) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ok").Bool(v.ok);
  w.Key("entries_checked").Int(v.entries_checked);
  w.Key("first_seq").Int(v.first_seq);
  w.Key("last_seq").Int(v.last_seq);
  w.Key("head_hash").String(v.head_hash);
  w.Key("first_bad_seq").Int(v.first_bad_seq);
  w.Key("problem").String(v.problem);
  w.Key("personal_erased").Int(v.personal_erased);
  w.EndObject();
  return w.Take();
}

std::string EncodeAuditCheckpoint(const AuditCheckpoint& checkpoint) { return AuditCheckpointToJson(checkpoint); }

std::string EncodeAuditKeyPair(const AuditKeyPair& keys) {
  JsonWriter w;
  w.BeginObject().Key("private_key").String(keys.private_key).Key("public_key").String(keys.public_key).EndObject();
  return w.Take();
}

}  // namespace convstore::capi
