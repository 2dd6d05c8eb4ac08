// The sync into PostgreSQL (Sync::SyncToPostgres, StartSync): docs/sync.md.
#include <unistd.h>

#include <cctype>
#include <utility>

#include <fmt/format.h>

#include "api/store_impl.h"
#include "ops/changeset.h"
#include "ops/journal.h"
#include "sync/initial_load.h"
#include "sync/pg_schema.h"
#include "util/directory.h"
#include "util/utf8.h"
#include "util/uuid.h"

namespace convstore::api {

namespace {

constexpr int64_t kBatchBytes = 16 << 20;  // journal bytes per PostgreSQL transaction at most
constexpr int kBatchesPerRound = 64;       // a background round returns after this many (the next comes soon)
constexpr const char* kForeignRun = "sync: another program is writing the store; the load waits for it to finish";

const char* MarkerName(ops::EntryKind kind) {
  switch (kind) {
    case ops::EntryKind::kForeignWrite: return "a write by another program";
    case ops::EntryKind::kJournalOff: return "the journal switched off";
    case ops::EntryKind::kJournalOn: return "the journal switched on";
    case ops::EntryKind::kSchemaMigration: return "a schema migration";
    case ops::EntryKind::kRestored: return "a restore";
    case ops::EntryKind::kErasure: return "an erasure";
    default: return "changes";
  }
}

// The entry's changeset as row changes.
Status Decode(const ops::StoredEntry& stored, sync::SourceEntry* out) {
  out->seq = stored.seq;
  out->committed_at = stored.committed_at;
  out->schema_version = stored.schema_version;
  std::string error;
  const bool ok = ops::ReadChangeset(stored.changes, &error, [&](const ops::Change& c) {
    sync::RowChange rc;
    rc.table = std::string(c.table);
    rc.op = c.op;
    rc.before = c.before;
    rc.after = c.after;
    out->changes.push_back(std::move(rc));
    return true;
  });
  if (!ok) return Status::Corruption(fmt::format("sync: journal entry {} does not decode: {}", stored.seq, error));
  return Status::OK();
}

// 8-4-4-4-12 hex digits.
bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

Status StoreImpl::CheckSyncable() const {
  if (path_ == ConversationStore::kInMemory)
    return Status::InvalidArgument("sync: an in-memory store cannot be synced (it has no lasting history)");
  if (options_.read_only) return Status::ReadOnly("sync: the store was opened read-only");
  return Status::OK();
}

Result<std::string> StoreImpl::StoreId() {
  auto read = [&](sqlite::Connection& conn) {
    return conn.QueryRow("SELECT value FROM meta WHERE key = 'store_id'", "sync: reading the store id",
                         [](const sqlite::Stmt& st) { return st.String(0); });
  };
  auto id = Read("sync", read);
  if (!id.ok()) return id.status();
  if (*id && !IsUuid(**id))
    return Status::Corruption("sync: the store's id (key 'store_id' of its meta table) is not a UUID; delete that "
                              "row to give the store a new one");
  if (*id) return **id;
  // First sync of this file: mint its id (another process may do the same at once; the first insert wins).
  const std::string fresh = util::NewUuidV7(Now());
  auto written = Write("sync", [&](sqlite::Connection& conn) -> Result<std::optional<std::string>> {
    CONVSTORE_RETURN_IF_ERROR(conn.Run("INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?1)",
                                       "sync: recording the store id", std::string_view(fresh)));
    return read(conn);
  });
  if (!written.ok()) return written.status();
  if (!*written) return Status::Internal("sync: the store id was not recorded");
  return **written;
}

Status StoreImpl::ConnectSync(SyncSession& s) {
  if (s.label.empty()) {
    s.label = s.options.label;
    if (s.label.empty()) {
      char host[256] = {0};
      if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
      auto abs = util::AbsolutePath(path_);
      s.label = std::string(host) + ":" + (abs.ok() ? *abs : path_);
    }
  }
  if (s.pg && s.pg->healthy()) return Status::OK();
  s.Disconnect();
  auto pg = sync::ConnectWithSchema(s.options.postgres_url, s.options.schema);
  if (!pg.ok()) return pg.status();
  // The store's id is minted (written to the store) only once PostgreSQL is there to receive it.
  if (s.store_id.empty()) {
    auto id = StoreId();
    if (!id.ok()) return id.status();
    s.store_id = *id;
  }
  // One sync per store and database: a session lock, released when the connection ends (a killed sync's too).
  auto locked = (*pg)->Query("SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                             {"convstore sync " + s.options.schema + " " + s.store_id});
  if (!locked.ok()) return locked.status();
  if (locked->Get(0, 0) != "t")
    return Status::Busy(fmt::format("sync: another process is syncing store {} into {}", s.store_id,
                                    (*pg)->describe()));
  s.consumer = SyncConsumerName((*pg)->describe(), s.options.schema);
  s.applier = std::make_unique<sync::Applier>(**pg, s.options.schema, s.store_id);
  s.pg = std::move(*pg);
  return Status::OK();
}

Status StoreImpl::EndForeignRun() {
  // The file's triggers mark a run of writes by another program with one foreign-write marker: a write that
  // continues the run adds none. A load whose snapshot ended on such a marker would set the position past writes
  // the run has not made yet, and they would never reach PostgreSQL. An empty entry ends the run.
  return Write("sync", [&](sqlite::Connection& conn) -> Status {
    auto last = ops::LastSeq(conn);
    if (!last.ok()) return last.status();
    if (*last == 0) return Status::OK();
    auto newest = ops::ReadStoredEntries(conn, *last - 1, 1, 1);
    if (!newest.ok()) return newest.status();
    if (newest->empty() || newest->front().kind != ops::EntryKind::kForeignWrite) return Status::OK();
    return ops::AppendEntry(conn, ops::EntryKind::kChanges, Now(), schema_version_, "");
  });
}

Status StoreImpl::LoadForSync(SyncSession& s, const std::string& reason, SyncReport* report) {
  for (int attempt = 1;; ++attempt) {
    CONVSTORE_RETURN_IF_ERROR(EndForeignRun());
    Status loaded = LoadSnapshot(s, reason, report);
    // Another program wrote again between the two: end its run and take the snapshot again.
    if (loaded.code() != Code::kBusy || loaded.message() != kForeignRun || attempt == 5) return loaded;
  }
}

Status StoreImpl::LoadSnapshot(SyncSession& s, const std::string& reason, SyncReport* report) {
  auto loaded = Read("sync", [&](sqlite::Connection& conn) -> Result<sync::LoadReport> {
    CONVSTORE_RETURN_IF_ERROR(conn.Exec("BEGIN", "sync: starting the load's snapshot"));
    auto body = [&]() -> Result<sync::LoadReport> {
      auto enabled = ops::JournalEnabled(conn);
      if (!enabled.ok()) return enabled.status();
      if (!*enabled)
        return Status::Conflict("sync: the store's change journal is off; the sync needs it (SetJournalEnabled(true), "
                                "convstore journal on)");
      sync::LoadPosition position;
      auto last = ops::LastSeq(conn);
      if (!last.ok()) return last.status();
      position.seq = *last;
      if (*last > 0) {
        auto newest = ops::ReadStoredEntries(conn, *last - 1, 1, 1);
        if (!newest.ok()) return newest.status();
        if (newest->empty()) return Status::Internal("sync: the journal's newest entry vanished in a snapshot");
        if (newest->front().kind == ops::EntryKind::kForeignWrite) return Status::Busy(kForeignRun);
        position.committed_at = newest->front().committed_at;
      }
      position.schema_version = schema_version_;
      auto progress = [&](std::string_view table, int64_t done, int64_t total) {
        if (options_.on_progress)
          options_.on_progress(Progress{fmt::format("sync: load {} into PostgreSQL", table), done, total});
      };
      util::Logger().info("sync: loading store {} ('{}') into {} ({})", s.store_id, path_, s.pg->describe(), reason);
      // Close does not wait for a whole load: the load stops (and rolls back) when the store closes.
      auto closing = [this] { return closed(); };
      auto r = sync::LoadStore(conn, *s.pg, *s.applier, s.options.schema, s.store_id, s.label, position, progress,
                               closing);
      if (!r.ok()) return r.status();
      report->position = position.seq;
      report->position_committed_at = position.committed_at;
      return r;
    };
    auto r = body();
    (void)conn.Exec("COMMIT", "sync: ending the load's snapshot");
    return r;
  });
  if (!loaded.ok()) return loaded.status();
  report->loaded = true;
  report->load_reason = reason;
  report->rows_loaded += loaded->rows;
  report->dead_letters += loaded->dead_letters;
  return Status::OK();
}

Result<SyncReport> StoreImpl::DoSyncRound(SyncSession& s, bool to_the_end) {
  CONVSTORE_RETURN_IF_ERROR(CheckSyncable());
  SyncReport report;
  Status connected = ConnectSync(s);
  if (!connected.ok()) {
    s.Disconnect();
    return connected;
  }
  report.store_id = s.store_id;
  auto run = [&]() -> Status {
    auto row = s.pg->Query("SELECT position, position_committed_us FROM " + sync::QuoteIdentifier(s.options.schema) +
                               ".convstore_stores WHERE store_id = $1",
                           {s.store_id});
    if (!row.ok()) return row.status();
    int64_t position = row->rows() ? row->Int(0, 0) : -1;
    const int64_t position_at = row->rows() ? row->Int(0, 1) : 0;

    // Does the journal continue PostgreSQL's position? (A restored or replaced file, or pruned entries, do not.)
    std::string reason;
    if (position < 0) {
      reason = "first sync";
    } else {
      auto check = Read("sync", [&](sqlite::Connection& conn) -> Result<std::string> {
        auto enabled = ops::JournalEnabled(conn);
        if (!enabled.ok()) return enabled.status();
        if (!*enabled)
          return Status::Conflict("sync: the store's change journal is off; the sync needs it "
                                  "(SetJournalEnabled(true), convstore journal on)");
        if (position == 0) return std::string();
        auto at = ops::CommitTimeOf(conn, position);
        if (!at.ok()) return at.status();
        if (!*at) {
          auto last = ops::LastSeq(conn);
          if (!last.ok()) return last.status();
          return *last < position ? fmt::format("the store's journal ends at {}, before PostgreSQL's position {} "
                                                "(a restored or replaced file)", *last, position)
                                  : fmt::format("journal entry {} (PostgreSQL's position) was removed", position);
        }
        if (**at != position_at)
          return fmt::format("journal entry {} is not the one PostgreSQL holds (a restored or replaced file)", position);
        return std::string();
      });
      if (!check.ok()) return check.status();
      reason = *check;
    }
    if (!reason.empty()) {
      CONVSTORE_RETURN_IF_ERROR(LoadForSync(s, reason, &report));
      position = report.position;
    }

    // The source tables' columns: fixed while this store is open at its schema version, read once per session.
    if (s.columns.empty()) {
      auto columns = Read("sync", [&](sqlite::Connection& conn) { return sync::ReadSourceColumns(conn); });
      if (!columns.ok()) return columns.status();
      s.columns = std::move(*columns);
    }
    // A one-shot or last round goes on until it has applied everything committed before it began.
    int64_t target = 0;
    if (to_the_end) {
      auto last = Read("sync", [&](sqlite::Connection& conn) { return ops::LastSeq(conn); });
      if (!last.ok()) return last.status();
      target = *last;
    }
    for (int batch = 0; to_the_end ? position < target : batch < kBatchesPerRound; ++batch) {
      auto stored = Read("sync", [&](sqlite::Connection& conn) {
        return ops::ReadStoredEntries(conn, position, s.options.batch_entries, kBatchBytes);
      });
      if (!stored.ok()) return stored.status();
      if (stored->empty()) break;
      std::string load_reason;
      if (stored->front().seq != position + 1)
        load_reason = fmt::format("journal entries {}..{} were removed before they were synced", position + 1,
                                  stored->front().seq - 1);
      std::vector<sync::SourceEntry> entries;
      for (const ops::StoredEntry& e : *stored) {
        // A gap inside the batch (entries removed by another program): apply up to it; the next batch reloads.
        if (!entries.empty() && e.seq != entries.back().seq + 1) break;
        if (!ops::CarriesChanges(e.kind)) {
          if (entries.empty() && load_reason.empty())
            load_reason = fmt::format("journal entry {} is {}", e.seq, MarkerName(e.kind));
          break;
        }
        sync::SourceEntry entry;
        CONVSTORE_RETURN_IF_ERROR(Decode(e, &entry));
        entries.push_back(std::move(entry));
      }
      if (!load_reason.empty()) {
        CONVSTORE_RETURN_IF_ERROR(LoadForSync(s, load_reason, &report));
        position = report.position;
        continue;
      }
      auto counts = s.applier->Apply(s.columns, entries, position);
      if (!counts.ok()) return counts.status();
      report.entries_applied += counts->entries;
      report.changes_applied += counts->changes;
      report.dead_letters += counts->dead_letters;
      position = entries.back().seq;
      report.position = position;
      report.position_committed_at = entries.back().committed_at;
    }
    report.position = position;
    // The lag, and (when the position moved) the consumer that keeps the journal entries PostgreSQL lacks.
    auto lag = Read("sync", [&](sqlite::Connection& conn) -> Status {
      auto last = ops::LastSeq(conn);
      if (!last.ok()) return last.status();
      report.pending_entries = std::max<int64_t>(0, *last - position);
      if (report.pending_entries > 0) {
        auto next = ops::ReadStoredEntries(conn, position, 1, 1);
        if (!next.ok()) return next.status();
        if (!next->empty()) report.lag_us = std::max<int64_t>(0, Now() - next->front().committed_at);
      }
      if (position > 0 && report.position_committed_at == 0) {
        auto at = ops::CommitTimeOf(conn, position);
        if (!at.ok()) return at.status();
        report.position_committed_at = at->value_or(0);
      }
      return Status::OK();
    });
    if (!lag.ok()) return lag;
    if (s.consumer_position == position) return Status::OK();
    Status kept = Write("sync", [&](sqlite::Connection& conn) -> Status {
      auto last = ops::LastSeq(conn);
      if (!last.ok()) return last.status();
      // One entry behind: retention removes entries up to a consumer's position, and the next round checks
      // entry `position` itself (its commit time) before continuing after it.
      return ops::SetConsumer(conn, s.consumer, std::max<int64_t>(0, std::min(position, *last) - 1), Now());
    });
    if (kept.ok()) s.consumer_position = position;
    return kept;
  };
  Status s_run = run();
  if (!s_run.ok()) {
    if (!s.pg || !s.pg->healthy() || s_run.code() == Code::kUnavailable) s.Disconnect();
    return s_run;
  }
  return report;
}

Result<SyncReport> StoreImpl::DoSyncToPostgres(const SyncOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(CheckSyncable());
  CONVSTORE_RETURN_IF_ERROR(SyncSession::Check(options));
  SyncSession session;
  session.options = options;
  return DoSyncRound(session, /*to_the_end=*/true);
}

Status StoreImpl::DoStartSync(const SyncOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(CheckSyncable());
  CONVSTORE_RETURN_IF_ERROR(SyncSession::Check(options));
  std::unique_lock lock(syncer_mu_, std::defer_lock);
  util::LockParked(lock);
  if (syncer_) return Status::Conflict("already syncing into " + syncer_->Status().postgres);
  sync_session_ = std::make_unique<SyncSession>();
  sync_session_->options = options;
  SyncSession* s = sync_session_.get();
  std::string where = "PostgreSQL (" + options.schema + ")";
  syncer_ = std::make_unique<BackgroundSyncer>(
      where, options.interval_us, [this, s] { return Call<&StoreImpl::DoSyncRound>(*s, false); },
      [this] { return Now(); });
  util::Logger().info("syncing '{}' into PostgreSQL every {} ms", path_, options.interval_us / 1000);
  return Status::OK();
}

Result<SyncReport> StoreImpl::DoStopSync() {
  std::unique_lock lock(syncer_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!syncer_) return Status::NotFound("not syncing");
  {
    util::ParkedScope parked;
    syncer_->Stop();
  }
  auto last = DoSyncRound(*sync_session_, /*to_the_end=*/true);  // everything committed so far
  syncer_->Record(last);
  SyncStatus status = syncer_->Status();
  syncer_.reset();
  sync_session_.reset();
  if (!last.ok()) return last.status();
  return status.totals;
}

Result<SyncStatus> StoreImpl::DoGetSyncStatus() {
  std::unique_lock lock(syncer_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!syncer_) return SyncStatus{};
  return syncer_->Status();
}

void StoreImpl::StopSyncer() {
  if (util::ForkGeneration() != fork_generation_) {
    (void)syncer_.release();
    (void)sync_session_.release();
    return;
  }
  std::unique_lock lock(syncer_mu_, std::defer_lock);
  util::LockParked(lock);
  if (syncer_) {
    util::ParkedScope parked;
    syncer_->Stop();
  }
  syncer_.reset();
  sync_session_.reset();
}

}  // namespace convstore::api
