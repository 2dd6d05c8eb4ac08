// The C ABI of the operations capability (convstore/ops.h): the change journal.
#include <cstdint>
#include <functional>
#include <string>

#include "c_support.h"
#include "json_fields.h"
#include "ops_codec.h"

using convstore::Status;
using namespace convstore::capi;

namespace {

std::string EncodeRemoved(int64_t removed) { return "{\"removed\":" + std::to_string(removed) + "}"; }

}  // namespace

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

int convstore_describe_journal(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto query = DecodeJournalQuery(query_json);
    if (!query.ok()) return query.status();
    return Emit(db->store->DescribeJournal(*query), out_json, EncodeJournalDescriptions);
  });
}

int convstore_inspect_store(const char* path, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(path);
    return Emit(convstore::InspectStore(path), out_json, EncodeStoreInfo);
  });
}

int convstore_list_backups(const char* directory, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(directory);
    return Emit(convstore::ListBackups(directory), out_json, EncodeListedBackups);
  });
}


int convstore_prune_backups(const char* directory, int64_t keep_s, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(directory);
    auto keep = ToMicros(keep_s, 1'000'000, "keep_s");
    if (!keep.ok()) return keep.status();
    return Emit(convstore::PruneBackups(directory, *keep), out_json, EncodeRemoved);
  });
}

int convstore_prune_archive(const char* directory, int64_t keep_s, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(directory);
    auto keep = ToMicros(keep_s, 1'000'000, "keep_s");
    if (!keep.ok()) return keep.status();
    return Emit(convstore::PruneArchive(directory, *keep), out_json, EncodeRemoved);
  });
}

int convstore_check_store(const char* path, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(path);
    return Emit(convstore::CheckStore(path), out_json, EncodeStoreCheck);
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


int convstore_backup(convstore_t* db, const char* options_json, convstore_progress_fn progress, void* user_data,
                     char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = DecodeBackupOptions(options_json);
    if (!options.ok()) return options.status();
    options->on_progress = ProgressOf(progress, user_data);
    return Emit(db->store->Backup(*options), out_json, EncodeBackupReport);
  });
}

int convstore_optimize(convstore_t* db, const char* options_json, convstore_progress_fn progress, void* user_data,
                       char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = DecodeObject<convstore::OptimizeOptions>(
        options_json, "optimize options", [](Fields& f, convstore::OptimizeOptions& o) -> Status {
          std::optional<bool> vacuum;
          CONVSTORE_RETURN_IF_ERROR(f.Bool("vacuum", vacuum));
          o.vacuum = vacuum.value_or(false);
          return Status::OK();
        });
    if (!options.ok()) return options.status();
    options->on_progress = ProgressOf(progress, user_data);
    return Emit(db->store->Optimize(*options), out_json, [](const convstore::OptimizeReport& r) {
      JsonWriter w;
      w.BeginObject();
      w.Key("bytes_before").Int(r.bytes_before).Key("bytes_after").Int(r.bytes_after);
      w.Key("free_pages_before").Int(r.free_pages_before).Key("free_pages_after").Int(r.free_pages_after);
      w.Key("pages_released").Int(r.pages_released).Key("vacuumed").Bool(r.vacuumed);
      w.Key("auto_vacuum").String(r.auto_vacuum);
      w.Key("wal_frames_checkpointed").Int(r.wal_frames_checkpointed).Key("wal_truncated").Bool(r.wal_truncated);
      w.Key("duration_us").Int(r.duration_us);
      w.EndObject();
      return w.Take();
    });
  });
}

int convstore_verify_backup(const char* backup_path, const char* encryption_key, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(backup_path);
    convstore::VerifyOptions options;
    if (encryption_key != nullptr) options.encryption_key_hex = encryption_key;
    return Emit(convstore::VerifyBackup(backup_path, options), out_json, EncodeBackupCheck);
  });
}

int convstore_restore_backup(const char* backup_path, const char* target_path, const char* encryption_key,
                             convstore_progress_fn progress, void* user_data, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(backup_path);
    CHECK_ARG(target_path);
    convstore::RestoreOptions options;
    if (encryption_key != nullptr) options.encryption_key_hex = encryption_key;
    options.on_progress = ProgressOf(progress, user_data);
    return Emit(convstore::RestoreBackup(backup_path, target_path, options), out_json, EncodeRestoreReport);
  });
}

int convstore_archive_now(convstore_t* db, const char* options_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = DecodeArchiveOptions(options_json);
    if (!options.ok()) return options.status();
    return Emit(db->store->ArchiveNow(*options), out_json, EncodeArchiveReport);
  });
}

int convstore_start_archiving(convstore_t* db, const char* options_json, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = DecodeArchiveOptions(options_json);
    if (!options.ok()) return options.status();
    return db->store->StartArchiving(*options);
  });
}

int convstore_stop_archiving(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->StopArchiving(), out_json, EncodeArchiveReport);
  });
}

int convstore_archiving_status(convstore_t* db, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    return Emit(db->store->GetArchivingStatus(), out_json, EncodeArchivingStatus);
  });
}

int convstore_list_archive(const char* directory, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(directory);
    return Emit(convstore::ListArchive(directory), out_json, EncodeArchiveListing);
  });
}

int convstore_restore_to_point(const char* archive_directory, const char* target_path, const char* options_json,
                               convstore_progress_fn progress, void* user_data, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_ARG(archive_directory);
    CHECK_ARG(target_path);
    CHECK_ARG(options_json);
    auto options = DecodePointInTimeOptions(options_json);
    if (!options.ok()) return options.status();
    options->on_progress = ProgressOf(progress, user_data);
    return Emit(convstore::RestoreToPoint(archive_directory, target_path, *options), out_json,
                EncodePointInTimeReport);
  });
}

}  // extern "C"
