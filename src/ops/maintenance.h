// Whole-file maintenance: the file's page facts, giving free pages back (incremental vacuum), a full VACUUM with
// progress, statistics for the query planner (PRAGMA optimize) and a WAL checkpoint.
//
// Each runs on the connection it is given, outside any transaction (VACUUM and checkpoints cannot run inside one);
// a full VACUUM takes the database's write lock for its whole run (writers wait, readers go on in WAL mode). Not
// thread-safe: one call per connection at a time.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::ops {

struct FileFacts {
  int64_t page_size = 0;
  int64_t page_count = 0;
  int64_t free_pages = 0;
  std::string auto_vacuum;  // "none", "full" or "incremental"
};
Result<FileFacts> ReadFileFacts(sqlite::Connection& conn);

// Frees every page on the free list (truncating the file); the number freed. Nothing to do unless auto_vacuum is
// incremental.
Result<int64_t> IncrementalVacuum(sqlite::Connection& conn);

// Rewrites the whole file (VACUUM), switching it to incremental auto-vacuum first. progress(done, total) is called
// as it goes, in units of SQLite virtual-machine steps estimated from the file's size (total is an estimate; done
// never passes it before the end, and the last call is done == total).
Status FullVacuum(sqlite::Connection& conn, const std::function<void(int64_t, int64_t)>& progress);

// PRAGMA quick_check: the problems it reports (at most 10), none for a sound file. kCorruption when the file cannot
// even be read; other failures (memory, I/O, a lock) as they came.
Result<std::vector<std::string>> QuickCheckProblems(sqlite::Connection& conn);

// PRAGMA optimize (ANALYZE where the planner would gain from it).
Status AnalyzeForPlanner(sqlite::Connection& conn);

// Checkpoints the WAL into the database and, when no reader needs its frames, empties it. The frames copied; *
// truncated: whether the WAL is now empty (false while a reader in another process pins it).
Result<int64_t> CheckpointWal(sqlite::Connection& conn, bool* truncated);
// Copies what it can of the WAL into the database without waiting for anyone (a passive checkpoint: writers go on
// meanwhile); the frames copied. A long batched job runs it between its transactions on a connection of its own, so
// the copying and its fsync happen there instead of inside some writer's commit (SQLite's automatic checkpoint).
Result<int64_t> CheckpointPassive(sqlite::Connection& conn);

}  // namespace convstore::ops
