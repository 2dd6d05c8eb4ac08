// Reading an archive (ListArchive) and restoring a store as of a past commit from it (RestoreToPoint):
// docs/operations.md, "Point-in-time restore".
#include <fmt/format.h>

#include "api/file_operations.h"
#include "api/file_path.h"
#include "convstore/store.h"
#include "ops/archive_dir.h"
#include "ops/journal.h"
#include "ops/replay.h"
#include "sqlite/connection.h"
#include "util/durable_file.h"
#include "util/json_writer.h"
#include "util/logging.h"
#include "util/status_macros.h"
#include "util/time.h"

namespace convstore {

namespace {

struct Start {
  const ops::GenerationFiles* generation = nullptr;
  const ArchivedBackup* base = nullptr;
};

// The newest generation holding the target, and its newest base backup at or before it.
Result<Start> FindStart(const std::vector<ops::GenerationFiles>& generations, const PointInTimeOptions& o) {
  for (auto g = generations.rbegin(); g != generations.rend(); ++g) {
    if (!o.generation.empty() && g->info.id != o.generation) continue;
    const ArchivedBackup* best = nullptr;
    for (const auto& b : g->info.base_backups) {
      const bool before = o.to_seq ? b.journal_seq <= *o.to_seq : b.journal_committed_at <= *o.to_time;
      if (before) best = &b;
    }
    if (best == nullptr) continue;
    if (o.to_seq && *o.to_seq > g->info.last_seq) continue;  // an older generation may hold that entry
    return Start{&*g, best};
  }
  if (!o.generation.empty()) {
    bool exists = false;
    for (const auto& g : generations) exists = exists || g.info.id == o.generation;
    if (!exists) return Status::NotFound(fmt::format("the archive has no generation '{}'", o.generation));
  }
  if (o.to_seq)
    return Status::NotFound(fmt::format("the archive holds no state as of journal entry {}", *o.to_seq));
  return Status::NotFound(fmt::format("the archive holds no state at or before {} µs (its oldest base backup is later)",
                                      *o.to_time));
}

// Brings a copy of the base backup (`tmp`) forward through the generation's segments to the target.
Status Replay(const std::string& tmp, const Start& start, const PointInTimeOptions& o,
              const std::optional<ops::CipherKey>& key, const api::ProgressReporter& report, PointInTimeReport* out) {
  sqlite::ConnectionConfig config;
  auto conn = sqlite::Connection::Open(tmp, config);
  if (!conn.ok()) return conn.status();
  CONVSTORE_RETURN_IF_ERROR((*conn)->Exec("PRAGMA foreign_keys=OFF", "replay: foreign keys off"));
  ops::Replayer replayer(**conn);
  int64_t reached = start.base->journal_seq;
  out->seq = reached;
  out->committed_at = start.base->journal_committed_at;
  const auto& segments = start.generation->segments;
  int64_t done = 0;
  const int64_t total = static_cast<int64_t>(segments.size());
  bool finished = false;
  for (const auto& segment : segments) {
    ++done;
    if (finished) break;
    if (segment.name.last_seq <= reached) continue;
    if (segment.name.first_seq > reached + 1)
      return Status::Corruption(fmt::format("the archive misses journal entries {}..{} of generation {}: it cannot "
                                            "restore past entry {}",
                                            reached + 1, segment.name.first_seq - 1, start.generation->info.id,
                                            reached));
    auto entries = ops::ReadSegment(segment, key);
    if (!entries.ok()) return entries.status();
    auto txn = sqlite::WriteTransaction::Begin(**conn);
    if (!txn.ok()) return txn.status();
    for (const ops::StoredEntry& e : *entries) {
      if (e.seq <= reached) continue;
      if ((o.to_seq && e.seq > *o.to_seq) || (o.to_time && e.committed_at > *o.to_time)) {
        finished = true;
        break;
      }
      if (e.schema_version != start.base->schema_version)
        return Status::Corruption(fmt::format("journal entry {} was recorded at schema version {}, its base backup "
                                              "at {}",
                                              e.seq, e.schema_version, start.base->schema_version));
      CONVSTORE_RETURN_IF_ERROR(replayer.Apply(e.seq, e.changes));
      CONVSTORE_RETURN_IF_ERROR(ops::InsertStoredEntry(**conn, e));
      reached = e.seq;
      out->seq = e.seq;
      out->committed_at = e.committed_at;
      ++out->entries_replayed;
    }
    CONVSTORE_RETURN_IF_ERROR(txn->Commit());
    report("restore: replay", done, total);
  }
  out->changes_replayed = replayer.changes_applied();
  if (o.to_seq && reached < *o.to_seq)
    return Status::NotFound(fmt::format("generation {} of the archive ends at journal entry {}, before {}",
                                        start.generation->info.id, reached, *o.to_seq));
  return Status::OK();
}

// Derived tables (cost rollups, the metadata index, the full-text index) are not journaled: rebuilt from the replayed rows. Opening the
// file as a store also brings an older base's schema up to date.
Status RebuildDerived(const std::string& tmp) {
  Options options;
  options.create_if_missing = false;
  options.backup_before_migration = false;  // a temporary file: the verified base backup is its backup
  auto store = ConversationStore::Open(tmp, options);
  if (!store.ok()) return store.status();
  auto rollups = (*store)->RebuildRollups();
  if (!rollups.ok()) return rollups.status();
  auto index = (*store)->RebuildMetadataIndex();
  if (!index.ok()) return index.status();
  auto text = (*store)->RebuildSearchIndex();
  if (!text.ok()) return text.status();
  return (*store)->Close();
}

Result<PointInTimeReport> Restore(const std::string& dir, const std::string& target, const PointInTimeOptions& o) {
  CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(dir, "archive directory"));
  CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(target, "target path"));
  if (o.to_time.has_value() == o.to_seq.has_value())
    return Status::InvalidArgument("give exactly one of to_time and to_seq");
  if (o.to_seq && *o.to_seq < 0) return Status::InvalidArgument("to_seq must be 0 or more");
  if (o.to_time && *o.to_time < 0) return Status::InvalidArgument("to_time must be 0 or more");
  auto key = api::KeyOf(o.encryption_key_hex);
  if (!key.ok()) return key.status();
  CONVSTORE_RETURN_IF_ERROR(api::CheckWritable(target));
  auto facts = ops::ReadArchiveFacts(dir);
  if (!facts.ok()) return facts.status();
  if (facts->encrypted && !*key) return Status::InvalidArgument("the archive is encrypted: give its key");
  if (!facts->encrypted && *key) return Status::InvalidArgument("the archive is not encrypted: give no key");
  const auto started = api::SteadyClock::now();
  const api::ProgressReporter report{&o.on_progress};
  auto generations = ops::ListGenerations(dir);
  if (!generations.ok()) return generations.status();
  auto start = FindStart(*generations, o);
  if (!start.ok()) return start.status();
  PointInTimeReport out;
  out.path = target;
  out.generation = start->generation->info.id;
  out.base_backup = start->base->path;
  out.base_seq = start->base->journal_seq;
  out.archive_last_seq = start->generation->info.last_seq;
  out.archive_last_at = start->generation->info.last_committed_at;

  auto manifest = api::VerifiedManifest(start->base->path, o.encryption_key_hex);
  if (!manifest.ok()) return manifest.status();
  api::RemoveOnFailure cleanup;
  const std::string tmp = util::TempPathBeside(target);
  cleanup.paths = {tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"};
  CONVSTORE_RETURN_IF_ERROR(api::CopyBackup(start->base->path, *manifest, *key, tmp, report));

  CONVSTORE_RETURN_IF_ERROR(Replay(tmp, *start, o, *key, report, &out));
  report("restore: rebuild derived tables", 0, 1);
  CONVSTORE_RETURN_IF_ERROR(RebuildDerived(tmp));
  CONVSTORE_RETURN_IF_ERROR(api::MarkRestored(
      tmp, util::JsonWriter().BeginObject().Key("from").String("archive").Key("generation").String(out.generation)
               .Key("to_seq").Int(out.seq).Key("to_time").String(util::FormatIso8601(out.committed_at))
               .EndObject().Take()));
  report("restore: rebuild derived tables", 1, 1);
  CONVSTORE_RETURN_IF_ERROR(api::SealStoreFile(tmp));
  CONVSTORE_RETURN_IF_ERROR(api::PutInPlace(tmp, target));
  cleanup.paths.clear();
  out.duration_us = api::MicrosSince(started);
  util::Logger().info("restored '{}' from archive '{}' to journal entry {} (committed at {} µs; {} entries replayed)",
                      target, dir, out.seq, out.committed_at, out.entries_replayed);
  return out;
}

}  // namespace

Result<ArchiveListing> ListArchive(const std::string& directory) {
  return api::GuardedFree([&]() -> Result<ArchiveListing> {
    CONVSTORE_RETURN_IF_ERROR(api::CheckFileArgument(directory, "archive directory"));
    auto facts = ops::ReadArchiveFacts(directory);
    if (!facts.ok()) return facts.status();
    auto generations = ops::ListGenerations(directory);
    if (!generations.ok()) return generations.status();
    ArchiveListing listing;
    listing.directory = directory;
    listing.encrypted = facts->encrypted;
    listing.created_at = facts->created_at;
    for (auto& g : *generations) listing.generations.push_back(std::move(g.info));
    return listing;
  });
}

Result<PointInTimeReport> RestoreToPoint(const std::string& archive_directory, const std::string& target_path,
                                         const PointInTimeOptions& options) {
  return api::GuardedFree([&] { return Restore(archive_directory, target_path, options); });
}

}  // namespace convstore
