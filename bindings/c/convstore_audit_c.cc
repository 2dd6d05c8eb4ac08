// The C ABI of the audit log (convstore/audit.h); declarations in convstore.h.
#include <string>

#include "audit_codec.h"
#include "c_support.h"

using convstore::Status;
using namespace convstore::capi;

int convstore_set_audit_context(convstore_t* db, const char* context_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(context_json);
    auto context = DecodeAuditContext(context_json);
    if (!context.ok()) return context.status();
    return db->store->SetAuditContext(*context);
  });
}

int convstore_log_event(convstore_t* db, const char* event_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(event_json);
    auto event = DecodeAuditEvent(event_json);
    if (!event.ok()) return event.status();
    return Emit(db->store->LogEvent(*event), out_json, EncodeAuditEntry);
  });
}

int convstore_read_audit(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto query = DecodeAuditQuery(query_json);
    if (!query.ok()) return query.status();
    return Emit(db->store->ReadAudit(*query), out_json, EncodeAuditPage);
  });
}

int convstore_verify_audit(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->VerifyAudit(), out_json, EncodeAuditVerification);
  });
}

int convstore_audit_checkpoint(convstore_t* db, const char* private_key_hex, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(private_key_hex);
    return Emit(db->store->CreateAuditCheckpoint(private_key_hex), out_json, EncodeAuditCheckpoint);
  });
}

int convstore_verify_audit_checkpoint(convstore_t* db, const char* checkpoint_json, const char* public_key_hex,
                                      char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(checkpoint_json);
    CHECK_ARG(public_key_hex);
    auto checkpoint = convstore::ParseAuditCheckpoint(checkpoint_json);
    if (!checkpoint.ok()) return checkpoint.status();
    return Emit(db->store->VerifyAuditCheckpoint(*checkpoint, public_key_hex), out_json, EncodeAuditVerification);
  });
}

int convstore_audit_keypair(char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    return Emit(convstore::GenerateAuditKeyPair(), out_json, EncodeAuditKeyPair);
  });
}
