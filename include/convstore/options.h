// Options for ConversationStore::Open. Every field documents its default.
#ifndef CONVSTORE_OPTIONS_H_
#define CONVSTORE_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>

namespace convstore {

struct BudgetAlert;
class Env;

// Progress of a long operation: a schema migration that backfills (opening an older file), the backup taken before
// it, waiting for another process's migration of the file, or an index rebuild.
struct Progress {
  std::string operation{}; // e.g. "schema migration 3 (metadata index)", "rebuild metadata index"
  int64_t done = 0;       // documents (or rows) processed so far
  int64_t total = 0;      // of this many
};

enum class Durability {
  // WAL with synchronous=NORMAL. A crash of the process loses nothing that was acknowledged; a power loss or OS
  // crash may lose the most recent commits but never corrupts the file.
  kNormal,
  // WAL with synchronous=FULL: every commit is fsync'ed before it is acknowledged; survives power loss.
  kFull,
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

struct Options {
  // Default: kNormal.
  Durability durability = Durability::kNormal;
  // How long a write waits for another process's write lock before failing with Code::kBusy. Default 5000 ms.
  int busy_timeout_ms = 5000;
  // Read-only connections used for reads of a file store, so reads run in parallel with writes. Default 4,
  // valid 1..64. In-memory stores have a single connection and ignore it.
  int reader_pool_size = 4;
  // Level of the spdlog logger named "convstore" (shared by all stores in the process). Default kWarn.
  LogLevel log_level = LogLevel::kWarn;
  // Operations slower than this are logged at warn level. Default 250 ms; 0 disables.
  int64_t slow_operation_ms = 250;
  // Create the file when it does not exist. Default true; when false a missing file fails with kNotFound.
  bool create_if_missing = true;
  // Open the file read-only: nothing is ever written (no creation, no migration, no WAL switch), every write call
  // fails with kReadOnly, and reads work as usual. The file must exist and be at this build's schema version
  // (kReadOnly otherwise: open it read-write once to migrate). A WAL file in a directory this process cannot
  // write is opened immutable, which assumes no other process writes it meanwhile. Default false. A read-write
  // open of a file or directory this process may not write fails at once with kReadOnly.
  bool read_only = false;
  // Run PRAGMA quick_check when opening a file store and refuse a damaged file with kCorruption, then check the
  // derived tables' invariants (cost rollups: no impossible sums, totals equal to their rollups, pending rows
  // valid and below the fold size; metadata index: blocks that decode, counts that match, a short tail). It reads
  // the whole file (O(size)), so it is off by default; turn it on where a slower open is worth the assurance.
  bool quick_check_on_open = false;
  // Run the background full-text indexer on a read-write handle (convstore/search.h): rows written are indexed and
  // removed tokens merged away behind the callers, within ~100 ms. When false, nothing indexes behind the callers:
  // a search on this handle indexes what waits before it runs, and CatchUpSearchIndex / PurgeSearchIndex (or
  // SetBackgroundIndexing(true)) do the rest. Default true.
  bool background_indexing = true;
  // Run the WAL's checkpoints on a thread of their own (a read-write file store): a commit that leaves 4,000 frames
  // (about 16 MiB) in the WAL wakes the thread instead of checkpointing itself, so no call pays for a checkpoint;
  // the writer is held back only for the last short copy of each cycle. The committing thread still checkpoints
  // past 16,000 frames (should the thread fall behind). When false, the commit that reaches 4,000 frames
  // checkpoints in the caller's thread, as SQLite does by default. Default true.
  bool background_checkpoints = true;
  // Open the file in exclusive mode, for a deployment where one process (one handle) is the file's only user: the
  // handle takes a lock for its process at open and keeps it until Close (SQLite's process-exclusive "unix-excl"
  // VFS), so the WAL needs no shared-memory (-shm) file — its index lives in this process's memory — and no commit
  // takes the file locks that share it: a faster write path. The price: no other process (a convstore command, a
  // backup tool reading the file) and no other handle or tool of this process (a second store, InspectStore,
  // CheckStore) can open the file, not even to read, until Close (a SQLite connection the application opens
  // itself in this process, outside convstore, shares the process's hold, as SQLite allows); reads share the
  // writer's connection instead of a pool, so they wait for writes and writes for them; and Optimize and Backup
  // hold writes back while they run. Checkpoints run as in a shared store: the background checkpointer's
  // connection is this process's second exclusive one. An open while another process or handle has the file open
  // fails with kBusy (another process's after busy_timeout_ms), naming the reason. Read-write file stores only
  // (kInvalidArgument with read_only; in-memory stores are exclusive by nature and ignore it). Default false.
  bool exclusive = false;
  // Where the store reads the time (convstore/env.h). Not owned: it must outlive the ConversationStore object.
  // Default (nullptr):
  // Env::Default(), the system clock.
  Env* env = nullptr;
  // Called after a write commits that took a budget's spend across its soft or hard limit (see convstore/cost.h).
  // Runs on the writing thread, outside the store's locks; it may call the store. Must not throw. Default: none.
  std::function<void(const BudgetAlert&)> on_budget_alert{};
  // Before a migration that rewrites data (a backfill; InspectStore lists which pending migrations do), write a
  // backup of the file as it is, "<name>.before-schema-<version>-<UTC time>.db" with its manifest, and verify
  // it; a backup that cannot be written or does not verify fails the open with nothing migrated. Migrations that
  // only add tables or columns take no backup. Default true.
  bool backup_before_migration = true;
  // Where that backup goes: an existing directory. Default "": the store file's directory.
  std::string migration_backup_directory{};
  // Called as long operations advance. Opening a file that needs migrating: the backup before it ("before schema
  // migration, backup: copy" / ": checksum", done/total in bytes), then each migration as it starts ("schema
  // migration <version> (<name>)", 0 of 0) and, for one that backfills, after each batch of up to 50,000 rows.
  // RebuildMetadataIndex / SetMetadataExcludedPaths: at the start, then after each batch. While Open waits for
  // another process that is migrating the file: "waiting for another process's schema migration: <who, what,
  // since when>" (0 of 0), at once and every 10 s.
  // Runs inside the operation's write transaction (on the thread of Open, or on whichever thread the write queue
  // runs the rebuild on): it must not call the store. Must not throw. Default: none.
  std::function<void(const Progress&)> on_progress{};
};

}  // namespace convstore

#endif  // CONVSTORE_OPTIONS_H_
