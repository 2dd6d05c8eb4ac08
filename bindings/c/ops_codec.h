// JSON <-> C++ records of the operations capability (convstore/ops.h) for the C ABI. Internal to bindings/c;
// pure functions, thread-safe.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "convstore/ops.h"
#include "convstore/status.h"
#include "util/json_writer.h"

namespace convstore::capi {

// {"after_seq"?, "since"?, "until"?, "limit"?, "decode"?}.
Result<JournalQuery> DecodeJournalQuery(std::string_view text);
// {"max_age_us"?, "max_bytes"?} (null or absent: no limit).
Result<JournalRetention> DecodeJournalRetention(std::string_view text);
std::string EncodeJournalEntries(const std::vector<JournalEntry>& entries);
std::string EncodeJournalStatus(const JournalStatus& status);
void WriteJournalStatus(util::JsonWriter& w, const JournalStatus& status);
std::string EncodeJournalDescriptions(const std::vector<JournalDescription>& entries);
std::string EncodeStoreInfo(const StoreInfo& info);
std::string EncodeStoreCheck(const StoreCheck& check);
std::string EncodeListedBackups(const std::vector<ListedBackup>& backups);
std::string EncodeJournalPruneReport(const JournalPruneReport& report);
const char* JournalEntryKindName(JournalEntryKind kind);

// {"path": str, "encryption_key"?: str (64 hex characters)}.
Result<BackupOptions> DecodeBackupOptions(std::string_view text);
void WriteManifest(util::JsonWriter& w, const BackupManifest& m);
std::string EncodeBackupReport(const BackupReport& report);
std::string EncodeBackupCheck(const BackupCheck& check);
std::string EncodeRestoreReport(const RestoreReport& report);

// `count` units of `unit` µs (1000: ms; 1000000: s) as µs; kInvalidArgument naming `name` below 1 or past int64.
Result<int64_t> ToMicros(int64_t count, int64_t unit, const char* name);

// {"directory": str, "encryption_key"?: str, "interval_ms"?: int, "base_backup_interval_s"?: int,
//  "keep_s"?: int | null}.
Result<ArchiveOptions> DecodeArchiveOptions(std::string_view text);
std::string EncodeArchiveReport(const ArchiveReport& report);
std::string EncodeArchivingStatus(const ArchivingStatus& status);
std::string EncodeArchiveListing(const ArchiveListing& listing);
// {"to_time"?: ISO-8601 | µs, "to_seq"?: int, "generation"?: str, "encryption_key"?: str}: exactly one target.
Result<PointInTimeOptions> DecodePointInTimeOptions(std::string_view text);
std::string EncodePointInTimeReport(const PointInTimeReport& report);

}  // namespace convstore::capi
