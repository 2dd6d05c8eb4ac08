// The archive directory's layout and the files in it (the orchestration — when to ship, when to take a base
// backup — is the caller's):
//
//   DIR/archive.json                          format, creation time, whether it is encrypted
//   DIR/archive.lock                          held (flock) by the one process archiving into DIR
//   DIR/generations/<id>/base/<T>.db          a base backup taken at T (µs, 20 digits), with the backup's own
//   DIR/generations/<id>/base/<T>.db.manifest.json   manifest (backup_files.h), and
//   DIR/generations/<id>/base/<T>.json        the archive's record of it: the journal entry it holds the store as
//                                             of and that entry's commit time — written last, so a base backup
//                                             is listed only once complete
//   DIR/generations/<id>/segments/<first>-<last>-<last time>.seg   journal entries (archive_segment.h)
//
// Every file is written to a temporary name beside its final one, fsync'ed, renamed, and the directory fsync'ed:
// a name in the archive always holds a complete file. Listings ignore temporary names; the process holding the
// lock removes leftovers of a crash (RemoveLeftovers). Retention removes the oldest files first, so a crash while
// pruning leaves a consistent, smaller archive.
//
// Stateless functions; thread-safe. Writers must hold the lock (LockArchive).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/ops.h"
#include "convstore/status.h"
#include "ops/archive_segment.h"
#include "ops/file_cipher.h"
#include "util/directory.h"

namespace convstore::ops {

inline constexpr int kArchiveFormat = 1;

// A segment's file name: "<first seq>-<last seq>-<last commit time in µs>.seg", each 20 digits, so listings need
// not open files.
struct SegmentName {
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  Micros last_at = 0;
};

std::string SegmentFileName(const SegmentName& name);
// nullopt for a name that is not a segment's (temporary files, anything else).
std::optional<SegmentName> ParseSegmentFileName(std::string_view file_name);

struct ArchivedSegment {
  std::string path{};
  SegmentName name{};
  int64_t bytes = 0;
};

// A generation as listed: the public description plus its segments in seq order, and how far its segments run
// without a gap from its oldest base backup (where an archiver continues: a later base backup holds entries that
// were committed after the last segment was shipped, and those must still be shipped).
struct GenerationFiles {
  ArchiveGeneration info{};
  std::vector<ArchivedSegment> segments{};
  int64_t shipped_seq = 0;
  Micros shipped_at = 0;
};

struct ArchiveFacts {
  bool encrypted = false;
  Micros created_at = 0;
};

// Creates DIR (and archive.json) when missing; checks an existing one's format, and that its encryption matches
// `encrypted` (kInvalidArgument otherwise: one archive, one key).
Result<ArchiveFacts> OpenOrCreateArchive(const std::string& dir, bool encrypted, Micros now);
// kNotFound when DIR has no archive.json.
Result<ArchiveFacts> ReadArchiveFacts(const std::string& dir);

Result<util::DirectoryLock> LockArchive(const std::string& dir);

// Every generation, oldest first, with its base backups (complete ones only) and segments; gaps and unreadable
// records go into each generation's problems.
Result<std::vector<GenerationFiles>> ListGenerations(const std::string& dir);

// Creates a generation directory named for `now`; returns its id.
Result<std::string> CreateGeneration(const std::string& dir, Micros now);
std::string GenerationPath(const std::string& dir, const std::string& id);
// Where a base backup taken at `created_at` goes in the generation.
std::string BaseBackupPath(const std::string& generation_path, Micros created_at);
// Records a complete base backup (its last step).
Status WriteBaseRecord(const std::string& backup_path, const ArchivedBackup& base);

// Writes `entries` as one segment of the generation; returns the file's size.
Result<int64_t> WriteSegment(const std::string& generation_path, const std::vector<StoredEntry>& entries,
                             const std::optional<CipherKey>& key);
// Reads and checks a segment against its name.
Result<std::vector<StoredEntry>> ReadSegment(const ArchivedSegment& segment, const std::optional<CipherKey>& key);

// Removes temporary files and incomplete base backups (a crash's leftovers). Only while holding the lock.
Result<int64_t> RemoveLeftovers(const std::string& dir);

// Removes what restoring any instant at or after `horizon` does not need: generations older than the newest base
// backup committed at or before it, older base backups of its generation and the segments they alone need.
// Returns the number of files removed.
Result<int64_t> PruneArchive(const std::string& dir, Micros horizon);

// Removes every generation that could hold data from before journal entry `seq` (an erasure's): those whose
// oldest base backup holds the store as of an earlier entry, or that have none. Only while holding the lock.
// Returns the number of files removed.
Result<int64_t> RemoveGenerationsBefore(const std::string& dir, int64_t seq);

}  // namespace convstore::ops
