// The archive's rounds (Operations::ArchiveNow, StartArchiving): docs/operations.md, "The archive".
#include <utility>

#include <fmt/format.h>

#include "api/store_impl.h"
#include "ops/archive_dir.h"
#include "ops/archive_segment.h"
#include "ops/journal.h"
#include "util/durable_file.h"

namespace convstore::api {

namespace {

// What the store says of this archive's position, read in one snapshot.
struct StorePosition {
  std::optional<int64_t> consumer;     // the archive's consumer (nullopt: the store never shipped to it)
  std::optional<Micros> tail_at;       // the store's commit time of the archive's last entry (nullopt: not held)
};

constexpr int64_t kPruneEveryUs = 60'000'000;

const ops::GenerationFiles* Newest(const std::vector<ops::GenerationFiles>& generations) {
  for (auto it = generations.rbegin(); it != generations.rend(); ++it)
    if (!it->info.base_backups.empty()) return &*it;
  return nullptr;
}

}  // namespace

Result<ArchivedBackup> StoreImpl::TakeBaseBackup(ArchiveSession& session, const std::string& generation_path,
                                                 int64_t tail, Micros tail_at, ArchiveReport* report) {
  Micros created = Now();
  while (util::FileSize(ops::BaseBackupPath(generation_path, created)).ok()) ++created;
  BackupOptions options;
  options.path = ops::BaseBackupPath(generation_path, created);
  options.encryption_key_hex = session.options.encryption_key_hex;
  auto backup = DoBackup(options);
  if (!backup.ok()) return backup.status();
  ArchivedBackup base;
  base.path = options.path;
  base.created_at = created;
  base.journal_seq = backup->manifest.journal_seq;
  base.schema_version = backup->manifest.schema_version;
  base.bytes = backup->manifest.bytes;
  if (base.journal_seq == tail) {
    base.journal_committed_at = tail_at;
  } else if (base.journal_seq > 0) {
    // An entry after the consumer's position: the journal still holds it.
    auto at = Read("archive", [&](sqlite::Connection& conn) { return ops::CommitTimeOf(conn, base.journal_seq); });
    if (!at.ok()) return at.status();
    if (!*at)
      return Status::Internal(fmt::format("archive: journal entry {} was pruned before it was archived", base.journal_seq));
    base.journal_committed_at = **at;
  }
  CONVSTORE_RETURN_IF_ERROR(ops::WriteBaseRecord(base.path, base));
  report->base_backup_taken = true;
  report->bytes_written += base.bytes;
  return base;
}

Status StoreImpl::StartGeneration(ArchiveSession& session, ArchiveReport* report,
                                  ArchiveSession::Generation* generation) {
  auto id = ops::CreateGeneration(session.directory, Now());
  if (!id.ok()) return id.status();
  auto base = TakeBaseBackup(session, ops::GenerationPath(session.directory, *id), -1, 0, report);
  if (!base.ok()) return base.status();
  CONVSTORE_RETURN_IF_ERROR(DoSetJournalConsumer(session.consumer, base->journal_seq));
  report->generation = *id;
  report->new_generation = true;
  *generation = {*id, base->journal_seq, base->journal_committed_at, base->created_at};
  util::Logger().info("archive '{}': generation {} starts at journal entry {}", session.directory, *id,
                      base->journal_seq);
  return Status::OK();
}

Result<ArchiveReport> StoreImpl::DoArchiveRound(ArchiveSession& session) {
  ArchiveReport report;
  // What the last round left; none after a failed round or in a new session, when the archive is listed.
  std::optional<ArchiveSession::Generation> known = std::exchange(session.generation, std::nullopt);
  if (!known) {
    if (!session.leftovers_removed) {
      auto removed = ops::RemoveLeftovers(session.directory);
      if (!removed.ok()) return removed.status();
      session.leftovers_removed = true;
    }
    auto generations = ops::ListGenerations(session.directory);
    if (!generations.ok()) return generations.status();
    // A generation with a gap or an unreadable record is not continued.
    if (const ops::GenerationFiles* newest = Newest(*generations); newest != nullptr && newest->info.problems.empty())
      known = ArchiveSession::Generation{newest->info.id, newest->shipped_seq, newest->shipped_at,
                                         newest->info.base_backups.back().created_at};
  }
  auto position = Read("archive", [&](sqlite::Connection& conn) -> Result<StorePosition> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    StorePosition p;
    auto consumer = conn.QueryInt("SELECT seq FROM journal_consumers WHERE name = ?1", "archive: read the position",
                                  std::string_view(session.consumer));
    if (!consumer.ok()) return consumer.status();
    p.consumer = *consumer;
    if (known && known->shipped_seq > 0) {
      auto at = ops::CommitTimeOf(conn, known->shipped_seq);
      if (!at.ok()) return at.status();
      p.tail_at = *at;
    }
    return p;
  });
  if (!position.ok()) return position.status();
  // The archive continues this store's journal when the store shipped to it up to where it ends — or, after a
  // crash between writing a segment and recording the position, when the store holds the archive's last entry
  // with the same commit time. Anything else (a restored or replaced file, an archive missing files) starts a new
  // generation rather than mix two histories.
  bool continues = known.has_value() && position->consumer.has_value();
  if (continues) {
    const int64_t pos = *position->consumer;
    const int64_t tail = known->shipped_seq;
    const bool same_tail = position->tail_at == known->shipped_at;
    continues = (pos == tail && (same_tail || !position->tail_at)) || (pos < tail && same_tail);
  }
  ArchiveSession::Generation g;
  if (continues) {
    g = *known;
    report.generation = g.id;
    if (*position->consumer < g.shipped_seq)
      CONVSTORE_RETURN_IF_ERROR(DoSetJournalConsumer(session.consumer, g.shipped_seq));
  } else {
    CONVSTORE_RETURN_IF_ERROR(StartGeneration(session, &report, &g));
  }
  for (;;) {
    auto entries = Read("archive", [&](sqlite::Connection& conn) {
      return ops::ReadStoredEntries(conn, g.shipped_seq, ops::kSegmentMaxEntries, ops::kSegmentMaxBytes);
    });
    if (!entries.ok()) return entries.status();
    if (entries->empty()) break;
    size_t changes = 0;
    while (changes < entries->size() && (*entries)[changes].kind == JournalEntryKind::kChanges) ++changes;
    if (changes > 0) {
      std::vector<ops::StoredEntry> batch(std::make_move_iterator(entries->begin()),
                                          std::make_move_iterator(entries->begin() + static_cast<long>(changes)));
      auto bytes = ops::WriteSegment(ops::GenerationPath(session.directory, g.id), batch, session.key);
      if (!bytes.ok()) return bytes.status();
      CONVSTORE_RETURN_IF_ERROR(DoSetJournalConsumer(session.consumer, batch.back().seq));
      g.shipped_seq = batch.back().seq;
      g.shipped_at = batch.back().committed_at;
      report.entries_shipped += static_cast<int64_t>(batch.size());
      report.segments_written += 1;
      report.bytes_written += *bytes;
    }
    if (changes < entries->size()) {
      // A marker: the journal does not continue across it, so a new generation starts from a base backup taken
      // after it.
      const ops::StoredEntry& marker = (*entries)[changes];
      util::Logger().info("archive '{}': journal entry {} is a marker (kind {}): starting a new generation",
                          session.directory, marker.seq, static_cast<int>(marker.kind));
      CONVSTORE_RETURN_IF_ERROR(StartGeneration(session, &report, &g));
      if (marker.kind == JournalEntryKind::kErasure) {
        // The earlier generations hold what the erasure removed: they go (the new one starts after it).
        auto removed = ops::RemoveGenerationsBefore(session.directory, marker.seq + 1);
        if (!removed.ok()) return removed.status();
        report.files_removed += *removed;
        CONVSTORE_RETURN_IF_ERROR(ArchiveCutForErasures(session.directory, marker.seq));
      }
      continue;
    }
    if (static_cast<int64_t>(entries->size()) < ops::kSegmentMaxEntries) break;
  }
  if (!report.new_generation && Now() - g.newest_base_at >= session.options.base_backup_interval_us) {
    auto base = TakeBaseBackup(session, ops::GenerationPath(session.directory, g.id), g.shipped_seq, g.shipped_at,
                               &report);
    if (!base.ok()) return base.status();
    g.newest_base_at = base->created_at;
  }
  // Retention lists the whole archive: at most once a minute (every round of ArchiveNow, a session of its own).
  if (session.options.keep_us && (!session.last_prune || Now() - *session.last_prune >= kPruneEveryUs)) {
    auto removed = ops::PruneArchive(session.directory, Now() - *session.options.keep_us);
    if (!removed.ok()) return removed.status();
    report.files_removed = *removed;
    session.last_prune = Now();
  }
  report.archived_seq = g.shipped_seq;
  report.archived_at = g.shipped_at;
  session.generation = std::move(g);
  return report;
}

Status StoreImpl::CheckArchivable() const {
  if (path_ == ConversationStore::kInMemory)
    return Status::InvalidArgument("an in-memory store has no file to archive");
  if (options_.read_only) return Status::ReadOnly("archive: the store was opened read-only");
  return Status::OK();
}

Result<ArchiveReport> StoreImpl::DoArchiveNow(const ArchiveOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(CheckArchivable());
  auto session = ArchiveSession::Open(options, Now());
  if (!session.ok()) return session.status();
  return DoArchiveRound(**session);
}

Status StoreImpl::DoStartArchiving(const ArchiveOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(CheckArchivable());
  std::unique_lock lock(archiver_mu_, std::defer_lock);
  util::LockParked(lock);
  if (archiver_) return Status::Conflict(fmt::format("already archiving into '{}'", archive_session_->directory));
  auto session = ArchiveSession::Open(options, Now());
  if (!session.ok()) return session.status();
  archive_session_ = std::move(*session);
  ArchiveSession* s = archive_session_.get();
  archiver_ = std::make_unique<BackgroundArchiver>(s->directory, options.interval_us,
                                                   [this, s] { return Call<&StoreImpl::DoArchiveRound>(*s); });
  util::Logger().info("archiving '{}' into '{}' every {} ms", path_, s->directory, options.interval_us / 1000);
  return Status::OK();
}

Result<ArchiveReport> StoreImpl::DoStopArchiving() {
  std::unique_lock lock(archiver_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!archiver_) return Status::NotFound("not archiving");
  {
    util::ParkedScope parked;  // waiting for the thread's round: a fork need not wait for this thread
    archiver_->Stop();
  }
  auto last = DoArchiveRound(*archive_session_);  // everything committed so far
  archiver_->Record(last);
  ArchivingStatus status = archiver_->Status();
  archiver_.reset();
  archive_session_.reset();
  if (!last.ok()) return last.status();
  return status.totals;
}

Result<ArchivingStatus> StoreImpl::DoGetArchivingStatus() {
  std::unique_lock lock(archiver_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!archiver_) return ArchivingStatus{};
  return archiver_->Status();
}

void StoreImpl::StopArchiver() {
  if (util::ForkGeneration() != fork_generation_) {
    // The thread (and whoever held the mutex at the fork) is the parent's: it does not exist here, and joining it
    // would never return. This process has one thread in the store now.
    (void)archiver_.release();
    (void)archive_session_.release();
    return;
  }
  std::unique_lock lock(archiver_mu_, std::defer_lock);
  util::LockParked(lock);
  if (archiver_) {
    util::ParkedScope parked;
    archiver_->Stop();
  }
  archiver_.reset();
  archive_session_.reset();
}

}  // namespace convstore::api
