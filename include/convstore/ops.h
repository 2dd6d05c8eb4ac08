// Operations on a store as a whole: the change journal (this header), and the backups, verification, restores
// and archive built on it.
//
// The change journal records every committed transaction's row changes in the store's own file, atomically with
// the transaction: a sequence number (1, 2, ... in commit order, across every thread and process writing the file),
// the commit time in µs (never before the previous entry's, whatever the clocks), and the changes as a SQLite
// changeset. It covers the tables that hold what callers wrote; derived tables (cost rollups, the metadata index)
// are rebuilt from those after a replay. docs/operations.md describes it; docs/benchmarks.md what it costs.
//
// Writes that did not go through convstore (the sqlite3 shell, another program) cannot be journaled: the file's
// triggers mark them with a foreign-write entry, and a replay refuses to cross it. So do entries where the journal
// was turned off and on again and where the schema was migrated: past such an entry, a replay needs a base backup
// taken after it.
#ifndef CONVSTORE_OPS_H_
#define CONVSTORE_OPS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
#include "convstore/options.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

enum class JournalEntryKind {
  kChanges = 0,          // a transaction's row changes
  kForeignWrite = 1,     // a program other than convstore wrote the file (written by the file's triggers)
  kJournalOff = 2,       // the journal was turned off: writes after it are not recorded
  kJournalOn = 3,        // the journal was turned on again
  kSchemaMigration = 4,  // the schema was migrated to schema_version
  kRestored = 5,         // the store was restored from a backup or to a point in time
  // A user was erased (EraseUser): the transaction's changes, with what they removed withheld (old values NULL).
  // Like the other markers, a replay stops here and an archive starts a new generation.
  kErasure = 6,
};

enum class ChangeOp { kInsert = 0, kUpdate = 1, kDelete = 2 };

// One row change, decoded. Values are JSON: integers and reals as numbers, text as strings, NULL as null, blobs as
// {"$blob": "<hex>"}.
struct JournalChange {
  std::string table{};
  ChangeOp op = ChangeOp::kInsert;
  std::string key_json{};  // the primary key: {"id": 42}
  // kInsert: "" / the new row. kUpdate: the changed columns before / after. kDelete: the row as it was / "".
  std::string old_json{};
  std::string new_json{};
};

struct JournalEntry {
  int64_t seq = 0;
  Micros committed_at = 0;
  JournalEntryKind kind = JournalEntryKind::kChanges;
  int schema_version = 0;            // the schema the changes were recorded in
  int64_t bytes = 0;                 // size of the stored changeset
  std::vector<JournalChange> changes{};  // decoded when JournalQuery::decode (kChanges entries only)
};

struct JournalQuery {
  int64_t after_seq = 0;              // entries with seq > after_seq
  std::optional<Micros> since{};      // ... committed at or after this time
  std::optional<Micros> until{};      // ... committed at or before this time
  int64_t limit = 100;                // 1..10,000 entries
  bool decode = true;                 // false: entries without their changes (cheaper)
};

// How long the journal keeps entries. PruneJournal removes the oldest entries beyond either limit, but never one
// a consumer (below) has not read yet, nor the newest entry.
struct JournalRetention {
  std::optional<int64_t> max_age_us{};  // > 0
  std::optional<int64_t> max_bytes{};   // > 0: total size of the stored changesets
};

// A reader of the journal that must not miss entries (the archiver, a sync): its position is kept in the file and
// retention never removes entries after it.
struct JournalConsumer {
  std::string name{};
  int64_t seq = 0;           // read up to and including this entry
  Micros updated_at = 0;
};

// An entry in words (DescribeJournal): "deleted conversation 0193… "BGP flaps" (12 messages)".
struct JournalDescription {
  int64_t seq = 0;
  Micros committed_at = 0;
  JournalEntryKind kind = JournalEntryKind::kChanges;
  std::vector<std::string> lines{};
};

struct JournalStatus {
  bool enabled = true;
  int64_t entries = 0;
  int64_t first_seq = 0;      // 0 when empty
  int64_t last_seq = 0;
  Micros oldest_at = 0;
  Micros newest_at = 0;
  int64_t bytes = 0;          // total size of the stored changesets
  int64_t markers = 0;        // entries that are not kChanges
  int64_t last_marker_seq = 0;  // the newest of them (0 when none): replays after a base backup older than it stop
  JournalRetention retention{};
  std::vector<JournalConsumer> consumers{};
};

struct JournalPruneReport {
  int64_t removed = 0;
  int64_t bytes_removed = 0;
  int64_t first_seq = 0;  // the oldest entry kept (0 when the journal is empty)
};

// ---- backups ----

// What a backup's manifest (the JSON file "<backup>.manifest.json" beside it) records; VerifyBackup checks the
// backup against every field.
struct BackupManifest {
  int format = 1;                  // of the manifest and the backup's layout
  int schema_version = 0;          // of the copied store
  int64_t journal_seq = 0;         // the last change-journal entry the copy holds (0: none)
  Micros created_at = 0;           // when the copy was taken
  int64_t duration_us = 0;         // how long taking it took
  int64_t bytes = 0;               // size of the backup file as stored
  std::string sha256{};            // of the backup file as stored (the encrypted bytes when encrypted)
  std::string database_sha256{};   // of the SQLite database itself (equal to sha256 when not encrypted)
  bool encrypted = false;          // AES-256-GCM (docs/operations.md, "Backups")
  std::vector<std::pair<std::string, int64_t>> row_counts{};  // rows of each journaled table
  NanoUsd cost_nanousd = 0;        // total cost of messages, deleted messages and API usage
  std::string convstore_version{};
};

struct BackupOptions {
  std::string path{};                  // the backup file to create (must not exist); the manifest goes beside it
  std::string encryption_key_hex{};    // "" for none; 64 hex characters (32 bytes) for AES-256-GCM
  // Called as the copy, checksum and encryption advance (Progress::done/total in bytes); on the calling thread,
  // outside the store's locks. Must not throw.
  std::function<void(const Progress&)> on_progress{};
};

struct BackupReport {
  std::string path{};
  std::string manifest_path{};
  BackupManifest manifest{};
};

struct VerifyOptions {
  std::string encryption_key_hex{};  // needed for an encrypted backup
};

// A backup checked without trusting it. ok is true only when every check passed; problems names each failure.
struct BackupCheck {
  bool ok = false;
  std::vector<std::string> problems{};
  BackupManifest manifest{};  // as read from the manifest file (empty when it could not be read)
};

struct RestoreOptions {
  std::string encryption_key_hex{};
  std::function<void(const Progress&)> on_progress{};
};

struct RestoreReport {
  std::string path{};         // the restored store
  BackupManifest manifest{};  // of the backup it came from
  int64_t duration_us = 0;
};

// ---- the archive and point-in-time restore ----
//
// An archive directory holds generations: each starts with a base backup and continues with segments, runs of
// consecutive journal entries compressed with zstd (and sealed with AES-256-GCM in an encrypted archive). A new
// generation starts when the journal cannot be continued: the first run, a marker (a foreign write, the journal
// switched off and on, a migration, a restore) or a store whose history no longer matches the archive's (a
// restored or replaced file). docs/operations.md, "The archive", describes the layout and its crash safety.

struct ArchiveOptions {
  std::string directory{};            // created (0700) when missing
  std::string encryption_key_hex{};   // "" for none; 64 hex characters: base backups and segments sealed
  int64_t interval_us = 1'000'000;    // background archiving ships new entries this often (1 ms .. 1 hour)
  int64_t base_backup_interval_us = 86'400'000'000;  // a new base backup when the newest is this old (>= 1 s)
  // Retention: every instant of the last keep_us stays restorable; files needed only for older instants go.
  // Unset: nothing is removed.
  std::optional<int64_t> keep_us{};
};

struct ArchiveReport {
  std::string generation{};      // the generation written to
  bool new_generation = false;   // started by this round
  bool base_backup_taken = false;
  int64_t entries_shipped = 0;
  int64_t segments_written = 0;
  int64_t bytes_written = 0;     // segments and base backups
  int64_t files_removed = 0;     // by the retention
  int64_t archived_seq = 0;      // the last journal entry the archive holds
  Micros archived_at = 0;        // its commit time
};

// In-process archiving (StartArchiving): what it has done so far.
struct ArchivingStatus {
  bool running = false;
  std::string directory{};
  int64_t rounds = 0;
  int64_t failed_rounds = 0;
  std::string last_error{};      // of the last failed round ("" when the last round succeeded)
  ArchiveReport totals{};        // summed over the rounds (archived_seq/at: the latest)
};

struct ArchivedBackup {
  std::string path{};
  Micros created_at = 0;
  int64_t journal_seq = 0;            // the entry the backup holds the store as of
  Micros journal_committed_at = 0;    // that entry's commit time (0: an empty journal)
  int schema_version = 0;
  int64_t bytes = 0;
};

struct ArchiveGeneration {
  std::string id{};                  // "<creation time in µs, 20 digits>-<8 hex digits>": sorts by age
  std::string path{};
  Micros created_at = 0;
  std::vector<ArchivedBackup> base_backups{};  // oldest first
  int64_t segments = 0;
  int64_t segment_bytes = 0;
  int64_t first_seq = 0;             // of the oldest base backup (0 when it has none)
  int64_t last_seq = 0;              // the last entry restorable from this generation
  Micros last_committed_at = 0;
  std::vector<std::string> problems{};  // gaps between segments, unreadable files: restores stop before them
};

struct ArchiveListing {
  std::string directory{};
  bool encrypted = false;
  Micros created_at = 0;
  std::vector<ArchiveGeneration> generations{};  // oldest first
};

// Where a point-in-time restore stops: exactly one of to_time and to_seq.
struct PointInTimeOptions {
  // The last commit at or before this instant (inclusive, as PostgreSQL's recovery_target_time).
  std::optional<Micros> to_time{};
  std::optional<int64_t> to_seq{};   // ... or up to and including this journal entry
  std::string generation{};          // "" picks the newest generation that holds the target
  std::string encryption_key_hex{};
  std::function<void(const Progress&)> on_progress{};
};

struct PointInTimeReport {
  std::string path{};
  std::string generation{};
  std::string base_backup{};        // the base backup it started from
  int64_t base_seq = 0;
  int64_t seq = 0;                  // the last entry applied: the store is as of this commit
  Micros committed_at = 0;          // its commit time
  int64_t entries_replayed = 0;
  int64_t changes_replayed = 0;     // row changes
  int64_t archive_last_seq = 0;     // the generation's last archived entry (later commits were not yet shipped)
  Micros archive_last_at = 0;
  int64_t duration_us = 0;
};

// ---- a store file as a whole ----

// A migration opening the file read-write will run.
struct PendingMigration {
  int version = 0;
  std::string name{};
  bool rewrites_data = false;  // backfills or rewrites rows: Open takes a verified backup first (Options)
};

// What InspectStore reads from a file without opening it as a store (nothing is migrated or written).
struct StoreInfo {
  std::string path{};
  int schema_version = 0;              // of the file (0: a new, empty file)
  int library_schema_version = 0;      // the version this build migrates files to
  std::vector<PendingMigration> pending_migrations{};
  // While a process is migrating the file: who, from which version to which, since when ("" otherwise). Opening
  // the file meanwhile waits for it (read-only: refused with this sentence).
  std::string migration_in_progress{};
  int64_t file_bytes = 0;
  int64_t wal_bytes = 0;               // of the -wal beside it (0: none)
  int64_t page_size = 0;
  int64_t page_count = 0;
  int64_t freelist_pages = 0;          // pages free for reuse (VACUUM would return them)
  std::vector<std::pair<std::string, int64_t>> row_counts{};  // rows of each journaled table
  NanoUsd cost_nanousd = 0;
  bool has_journal = false;            // schema 6 or later
  JournalStatus journal{};             // when has_journal
};

// A live store checked as VerifyBackup checks a backup: integrity_check, the schema, the cost rollups and the
// metadata index recomputed (one snapshot; writers go on). ok only when every check passed.
struct StoreCheck {
  bool ok = false;
  int schema_version = 0;
  std::vector<std::string> problems{};
};

// ---- maintenance ----

struct OptimizeOptions {
  // Also rewrite the whole file (VACUUM): the only way to give back the free pages of a file created before
  // incremental auto-vacuum, which it turns on. Takes the write lock for its whole run (other writers wait; readers
  // go on) and needs free disk space about the size of the file.
  bool vacuum = false;
  // Called as a VACUUM advances (Progress::done/total: SQLite steps, total estimated from the file's size); on the
  // calling thread. Must not throw.
  std::function<void(const Progress&)> on_progress{};
};

struct OptimizeReport {
  int64_t bytes_before = 0, bytes_after = 0;  // the database file and its WAL
  int64_t free_pages_before = 0, free_pages_after = 0;
  int64_t pages_released = 0;       // given back to the file system by incremental vacuum
  bool vacuumed = false;            // a full VACUUM ran
  std::string auto_vacuum{};        // the file's mode afterwards: "incremental", "full" or "none"
  int64_t wal_frames_checkpointed = 0;
  bool wal_truncated = false;       // the WAL is empty (false while a reader in another process pins it)
  int64_t duration_us = 0;
};

// The operations capability of a ConversationStore (a base of it: call these on the store). Thread-safe as the
// store is. Non-virtual and without data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT Operations {
 public:
  // ---- the change journal ----
  // Entries in sequence order.
  Result<std::vector<JournalEntry>> ReadJournal(const JournalQuery& query);
  Result<JournalStatus> GetJournalStatus();
  // The entries of `query` summarised as sentences (query.decode is ignored): what changed since 14:30.
  Result<std::vector<JournalDescription>> DescribeJournal(const JournalQuery& query);
  // Turns the journal on or off for every process writing the file (kept in the file). Each switch leaves a
  // marker entry; replays do not cross it.
  Status SetJournalEnabled(bool enabled);
  // Keeps `retention` in the file; PruneJournal applies it.
  Status SetJournalRetention(const JournalRetention& retention);
  // Removes entries beyond the retention (in bounded batches, each its own transaction).
  Result<JournalPruneReport> PruneJournal();
  // Records that consumer `name` (a key: 1..256 bytes of UTF-8, no NUL) has read up to `seq` (0..last seq); creates it when new.
  Status SetJournalConsumer(std::string_view name, int64_t seq);
  // Forgets a consumer (idempotent).
  Status RemoveJournalConsumer(std::string_view name);

  // ---- backups ----
  // A consistent copy of the store while writers go on writing (SQLite's VACUUM INTO from its own snapshot), with
  // its manifest; both files 0600, written through temporary files, so a crash leaves no backup half-made under
  // the name. kConflict when the path exists.
  Result<BackupReport> Backup(const BackupOptions& options);

  // ---- the archive ----
  // One archiving round on the calling thread: starts a generation when needed, ships the journal entries not yet
  // archived, takes a base backup when the newest is older than the interval, applies the retention. The store's
  // journal keeps every entry not yet shipped (a consumer named after the directory). kBusy when another process
  // is archiving into the directory; kReadOnly for a read-only store; kInvalidArgument for an in-memory one.
  Result<ArchiveReport> ArchiveNow(const ArchiveOptions& options);
  // The same rounds on a background thread of this store every options.interval_us until StopArchiving or Close.
  // A failed round is logged and kept in GetArchivingStatus; the next round tries again. kConflict when already
  // archiving; the options are checked (and the directory locked) before this returns.
  Status StartArchiving(const ArchiveOptions& options);
  // Runs a last round (everything committed so far is shipped), stops the thread and returns the totals; the last
  // round's error when it failed. kNotFound when not archiving.
  Result<ArchiveReport> StopArchiving();
  Result<ArchivingStatus> GetArchivingStatus();

  // ---- maintenance ----
  // Updates the query planner's statistics (PRAGMA optimize), gives free pages back to the file system (incremental
  // vacuum: files created by this version), checkpoints and empties the WAL; with options.vacuum, first rewrites
  // the whole file (VACUUM), which also converts an older file to incremental auto-vacuum. kInvalidArgument for an
  // in-memory store; kReadOnly for a read-only one; kBusy when another writer holds the file past busy_timeout_ms.
  Result<OptimizeReport> Optimize(const OptimizeOptions& options);

 protected:
  Operations() = default;
  ~Operations() = default;
};

// Checks a backup without trusting it: the manifest, the file's SHA-256, the decrypted database's SHA-256, SQLite's
// integrity_check, the schema, every row count and the cost total, the cost rollups and the metadata index
// recomputed from the rows. A damaged backup (one flipped byte anywhere) is reported, never restored. kNotFound
// when the backup does not exist; kInvalidArgument for a missing or wrong key.
CONVSTORE_EXPORT Result<BackupCheck> VerifyBackup(const std::string& backup_path, const VerifyOptions& options = {});

// Replaces (or creates) the store at `target_path` with the backup, atomically: after a crash at any moment the
// path holds the old store or the complete restored one. The backup is verified first (kCorruption when it is
// damaged: nothing changes). kBusy when a process — this one included — has the target open. The restored store's
// journal starts a new history with a kRestored marker.
CONVSTORE_EXPORT Result<RestoreReport> RestoreBackup(const std::string& backup_path, const std::string& target_path,
                                                     const RestoreOptions& options = {});

// A backup found in a directory (ListBackups): its manifest, and whether the backup file itself is there (a
// manifest without its backup is what a crash between the two leaves).
struct ListedBackup {
  std::string path{};
  bool present = false;
  BackupManifest manifest{};
};

// The backups in `directory` (every "*.manifest.json" that decodes), oldest first. Reads only.
CONVSTORE_EXPORT Result<std::vector<ListedBackup>> ListBackups(const std::string& directory);

// Removes the backups of `directory` taken more than keep_us ago (each backup, then its manifest), never the
// newest one; returns how many it removed. Old manifests without their backup go too.
CONVSTORE_EXPORT Result<int64_t> PruneBackups(const std::string& directory, int64_t keep_us);

// Applies an archive's retention without archiving (ArchiveOptions::keep_us): every instant of the last keep_us
// stays restorable. kBusy while an archiver holds the directory (give it the retention instead).
CONVSTORE_EXPORT Result<int64_t> PruneArchive(const std::string& directory, int64_t keep_us);

// Reads a store file's facts without opening it as a store: kNotFound when missing, kInvalidArgument for a file
// that is not a convstore store. Safe while other processes write it.
CONVSTORE_EXPORT Result<StoreInfo> InspectStore(const std::string& path);

// Checks a store file (possibly in use) without changing it. kNotFound when missing.
CONVSTORE_EXPORT Result<StoreCheck> CheckStore(const std::string& path);

// The generations of an archive, their base backups and how far each can restore. Reads only; safe while an
// archiver writes. kNotFound when `directory` is not an archive.
CONVSTORE_EXPORT Result<ArchiveListing> ListArchive(const std::string& directory);

// Rebuilds the store at `target_path` as of a past commit from an archive: the newest base backup at or before the
// target, verified, then the archived journal entries replayed onto it up to the target, then the derived tables
// (cost rollups, metadata index) rebuilt. Put in place atomically as RestoreBackup does (kBusy while the target is
// open). kNotFound when the archive holds no state at or before the target (or a to_seq beyond what it holds);
// kCorruption when a file it needs is damaged or the entries do not continue the base backup.
CONVSTORE_EXPORT Result<PointInTimeReport> RestoreToPoint(const std::string& archive_directory,
                                                          const std::string& target_path,
                                                          const PointInTimeOptions& options);

}  // namespace convstore

#endif  // CONVSTORE_OPS_H_
