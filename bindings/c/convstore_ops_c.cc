// The C ABI of the operations capability (convstore/ops.h): the change journal.
#include "c_support.h"
#include "ops_codec.h"

using convstore::Status;
using namespace convstore::capi;

extern "C" {

int convstore_read_journal(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    auto query = query_json == nullptr ? Result<convstore::JournalQuery>(convstore::JournalQuery{})
                                       : DecodeJournalQuery(query_json);
    if (!query.ok()) return query.status();
    return Emit(db->store->ReadJournal(*query), out_json, EncodeJournalEntries);
  });
}

int convstore_journal_status(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->GetJournalStatus(), out_json, EncodeJournalStatus);
  });
}

int convstore_set_journal_enabled(convstore_t* db, int enabled, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    if (enabled != 0 && enabled != 1) return Status::InvalidArgument("enabled must be 0 or 1");
    return db->store->SetJournalEnabled(enabled == 1);
  });
}

int convstore_set_journal_retention(convstore_t* db, const char* retention_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(retention_json);
    auto retention = DecodeJournalRetention(retention_json);
    if (!retention.ok()) return retention.status();
    return db->store->SetJournalRetention(*retention);
  });
}

int convstore_prune_journal(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->PruneJournal(), out_json, EncodeJournalPruneReport);
  });
}

int convstore_set_journal_consumer(convstore_t* db, const char* name, int64_t seq, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(name);
    return db->store->SetJournalConsumer(name, seq);
  });
}

int convstore_remove_journal_consumer(convstore_t* db, const char* name, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(name);
    return db->store->RemoveJournalConsumer(name);
  });
}

}  // extern "C"
