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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
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

// The operations capability of a ConversationStore (a base of it: call these on the store). Thread-safe as the
// store is. Non-virtual and without data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT Operations {
 public:
  // ---- the change journal ----
  // Entries in sequence order.
  Result<std::vector<JournalEntry>> ReadJournal(const JournalQuery& query);
  Result<JournalStatus> GetJournalStatus();
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

 protected:
  Operations() = default;
  ~Operations() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_OPS_H_
