// StoreImpl: the SQLite-backed store behind ConversationStore (src/api/conversation_store.cc forwards to it).
//
// Concurrency: `lifecycle_` is held shared by every call and exclusively by Close, so Close waits for calls in
// progress. Writes go through the WriteQueue, which runs them on the writer connection under `write_mu_` in
// BEGIN IMMEDIATE transactions, group-committing concurrent ones (SQLite's lock plus busy_timeout serialises writers
// across processes). Reads lease a connection from the reader pool; an
// in-memory store has no pool and reads on the writer connection under `write_mu_`.
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <type_traits>
#include <utility>

#include "convstore/audit.h"
#include "convstore/monitoring.h"
#include "convstore/ops.h"
#include "convstore/search.h"
#include "convstore/store.h"
#include "convstore/vectors.h"
#include "ops/journal_capture.h"
#include "search/vector_index.h"
#include "search/vector_search.h"
#include "search/vector_memory.h"
#include "sqlite/checkpointer.h"
#include "sqlite/connection.h"
#include "sqlite/reader_pool.h"
#include "api/archive_session.h"
#include "api/periodic_task.h"
#include "api/global_budget_session.h"
#include "api/sync_session.h"
#include "api/open_files.h"
#include "api/operation_stats.h"
#include "api/stored_check.h"
#include "sqlite/write_queue.h"
#include "util/fork.h"
#include "util/logging.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::api {

// Who an audit entry says acted: the calling thread's AuditContext, resolved (src/api/audit.cc).
struct AuditActor {
  std::string actor = "application";
  std::optional<std::string> actor_user;  // pseudonymous id
  std::optional<std::string> ip_address;
  std::optional<std::string> user_agent;
};

// An entry convstore writes itself, in the transaction of the change it records.
struct AuditNote {
  const char* action = "";
  const char* resource_type = "";
  std::string resource_id{};
  std::optional<int64_t> subject_user_id{};  // the user the entry is about (named by their pseudonymous id)
  std::string details = "{}";                // a compact JSON object, nothing personal
  std::optional<std::string> personal{};     // a compact JSON object of details naming a person
};

class StoreImpl final {
 public:
  // `journal` (nullptr for a read-only store) is attached to `writer` as its transaction observer; `registration`
  // (nullptr for an in-memory store) is the file's in this process, released at Close.
  StoreImpl(Options options, std::string path, std::unique_ptr<sqlite::Connection> writer,
            std::unique_ptr<ops::JournalCapture> journal, std::unique_ptr<sqlite::ReaderPool> readers,
            int schema_version, std::unique_ptr<OpenFileRegistration> registration);
  ~StoreImpl();

  Status Close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  int schema_version() const { return schema_version_; }
  // Reads, copies and maintenance run on the writer, holding writes back (an in-memory store; an exclusive open,
  // whose only other connection is its checkpointer's): nothing else in this process may open the file.
  bool one_connection() const { return path_ == ConversationStore::kInMemory || options_.exclusive; }

  // Runs one entry point under Guarded (nothing throws out of the C++ API) and counts it in the statistics: the
  // public classes call impl->Call<&StoreImpl::DoX>(args...).
  //
  // A counted call is registered in counted_calls_ from before it looks at closed_ until it has recorded, so Close
  // can wait for the calls in progress to finish counting before it saves the counters (and before the caller may
  // destroy the store); a call that starts after Close has looked sees closed_ set (both sides sequentially
  // consistent) and records nothing.
  template <auto Entry, typename... A>
  auto Call(A&&... args) {
    if (!counting_.load(std::memory_order_relaxed))
      return Guarded([&] { return (this->*Entry)(std::forward<A>(args)...); });
    CountedCall counted(this);
    int id = -1;
    const auto start = std::chrono::steady_clock::now();
    auto result = Guarded([&]() -> decltype((this->*Entry)(std::forward<A>(args)...)) {
      if (closed_.load()) return Status::Closed();
      id = OperationId<Entry>();  // inside Guarded: its first use allocates, and a fork waits for it
      return (this->*Entry)(std::forward<A>(args)...);
    });
    if (id >= 0) {
      const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
      operations_.Record(id, result.ok(), RowsOf(result), took.count());
    }
    return result;
  }

  // The entry points, one file per capability in src/api/. Call them through Call.
  Result<Team> DoUpsertTeam(const TeamInput& team);
  Result<Team> DoGetTeam(std::string_view key);
  Result<User> DoUpsertUser(const UserInput& user);
  Result<User> DoGetUser(std::string_view key);
  Result<Conversation> DoCreateConversation(const NewConversation& conversation);
  Result<Conversation> DoGetConversationInfo(std::string_view id);
  Result<ConversationWithMessages> DoGetConversation(std::string_view id);
  Result<Conversation> DoUpdateConversation(std::string_view id, const ConversationUpdate& update);
  Status DoSetArchived(std::string_view id, bool archived);
  Status DoDeleteConversation(std::string_view id);
  Result<ConversationPage> DoListConversations(const ListConversationsOptions& options);
  Result<Message> DoAddMessage(std::string_view conversation_id, const NewMessage& message);
  Result<std::vector<Message>> DoAddMessages(std::string_view conversation_id, const std::vector<NewMessage>& messages);
  Result<std::vector<Message>> DoGetContext(std::string_view conversation_id, const ContextOptions& options);
  Result<std::vector<Message>> DoGetLastMessages(std::string_view conversation_id, int64_t count);
  Result<Message> DoDeleteMessage(std::string_view message_id);
  Result<std::optional<Message>> DoPopMessage(std::string_view conversation_id);
  Result<int64_t> DoClearMessages(std::string_view conversation_id);
  Result<Message> DoEditMessage(std::string_view message_id, const MessageEdit& edit);
  Result<int64_t> DoAddAgentItems(std::string_view conversation_id, std::string_view items_json,
                                  const AgentUsage& usage);
  Result<ImportReport> DoImportHistory(const ImportOptions& options);
  Result<ToolCall> DoAddToolCall(std::string_view message_id, const NewToolCall& call);
  Result<std::vector<ToolCall>> DoListToolCalls(std::string_view message_id);
  Result<ToolCall> DoUpdateToolCall(std::string_view tool_call_id, const ToolCallUpdate& update);
  Result<Price> DoAddPrice(const PriceInput& price);
  Result<std::vector<Price>> DoListPrices();
  Result<Price> DoResolvePrice(std::string_view model, Micros at);
  Result<RepriceReport> DoReprice(Micros from, Micros to);
  Result<ApiUsage> DoRecordApiUsage(const NewApiUsage& usage);
  Result<CostSummary> DoGetCostSummary(const CostFilter& filter);
  Result<CostGroupResult> DoGroupCosts(const CostFilter& filter, const std::vector<std::string>& group_by);
  Result<std::vector<UsageStat>> DoGetUsageStats(const CostFilter& filter);
  Result<TeamSpend> DoGetTeamSpend(std::string_view team_key, int lookback_days);
  Result<CostReport> DoGetCostReport(const CostReportOptions& options);
  Result<RollupReport> DoCheckRollups(bool repair);
  // One entry point per public method, so the statistics name each (operation_stats.h).
  Result<RollupReport> DoVerifyRollups() { return DoCheckRollups(false); }
  Result<RollupReport> DoRebuildRollups() { return DoCheckRollups(true); }
  Result<MetadataSearchResult> DoSearchMetadata(const MetadataQuery& query);
  Result<MetadataPlan> DoExplainMetadata(const MetadataQuery& query);
  Result<MetadataIndexReport> DoVerifyMetadataIndex();
  // Rebuilds with the stored exclusions, or with `paths` when given.
  Result<MetadataIndexReport> DoRebuildMetadataIndex(const std::vector<std::string>* paths);
  Result<MetadataIndexReport> DoSetMetadataExcludedPaths(const std::vector<std::string>& paths) {
    return DoRebuildMetadataIndex(&paths);
  }
  Result<BudgetState> DoSetBudget(const BudgetInput& budget);
  Status DoDeleteBudget(std::string_view name);
  Result<std::vector<BudgetState>> DoGetBudgets(double min_used_fraction);
  Result<Reservation> DoReserve(const ReserveRequest& request);
  Result<ApiUsage> DoSettle(std::string_view request_id, const NewApiUsage& usage);
  Result<Reservation> DoRelease(std::string_view request_id);
  Result<std::vector<JournalEntry>> DoReadJournal(const JournalQuery& query);
  Result<JournalStatus> DoGetJournalStatus();
  Result<std::vector<JournalDescription>> DoDescribeJournal(const JournalQuery& query);
  Status DoSetJournalEnabled(bool enabled);
  Status DoSetJournalRetention(const JournalRetention& retention);
  Result<JournalPruneReport> DoPruneJournal();
  Status DoSetJournalConsumer(std::string_view name, int64_t seq);
  Status DoRemoveJournalConsumer(std::string_view name);
  Result<BackupReport> DoBackup(const BackupOptions& options);
  Result<ArchiveReport> DoArchiveNow(const ArchiveOptions& options);
  Result<ArchiveReport> DoArchiveRound(ArchiveSession& session);
  Status DoStartArchiving(const ArchiveOptions& options);
  Result<ArchiveReport> DoStopArchiving();
  Result<ArchivingStatus> DoGetArchivingStatus();
  Result<SyncReport> DoSyncToPostgres(const SyncOptions& options);
  // One round; `to_the_end`: until everything committed before it began is applied (else at most 64 batches).
  Result<SyncReport> DoSyncRound(SyncSession& session, bool to_the_end);
  Status DoStartSync(const SyncOptions& options);
  Result<SyncReport> DoStopSync();
  Result<SyncStatus> DoGetSyncStatus();
  Status DoUseGlobalBudgets(const GlobalBudgetOptions& options);
  Status DoSetGlobalBudget(const BudgetInput& budget);
  Status DoDeleteGlobalBudget(std::string_view name);
  Result<std::vector<GlobalBudgetState>> DoListGlobalBudgets();
  Status DoSetAuditContext(const AuditContext& context);
  Result<AuditEntry> DoLogEvent(const AuditEventInput& event);
  Result<AuditPage> DoReadAudit(const AuditQuery& query);
  Result<AuditVerification> DoVerifyAudit();
  Result<AuditCheckpoint> DoCreateAuditCheckpoint(std::string_view private_key_hex);
  Result<AuditVerification> DoVerifyAuditCheckpoint(const AuditCheckpoint& checkpoint, std::string_view public_key_hex);
  Result<OptimizeReport> DoOptimize(const OptimizeOptions& options);
  Status DoRecordMetric(const MetricPoint& point);
  Result<int64_t> DoRecordMetrics(const std::vector<MetricPoint>& points);
  Result<MetricSeries> DoQueryMetrics(const MetricQuery& query);
  Status DoSetRetentionPolicy(const RetentionPolicy& policy);
  Result<RetentionPolicy> DoGetRetentionPolicy();
  Result<RetentionReport> DoApplyRetention(const RetentionOptions& options);
  Status DoStartRetention(Micros interval_us);
  Result<RetentionStatus> DoStopRetention();
  Result<RetentionStatus> DoGetRetentionStatus();
  Result<EraseReport> DoEraseUser(std::string_view user_key);
  Result<std::vector<ErasureStatus>> DoListErasures();
  Result<std::vector<ErasureStatus>> DoFinishErasures();
  Result<UserExportReport> DoExportUser(std::string_view user_key, const UserExportOptions& options);
  Result<UserImportReport> DoImportUser(const UserImportOptions& options);
  Result<StoreStats> DoStats(const StatsOptions& options);
  Status DoResetStats();
  Status DoSetStatsEnabled(bool enabled);
  Result<HealthReport> DoCheckHealth(const HealthOptions& options);
  Result<TextSearchResult> DoSearchText(const TextSearchQuery& query);
  Result<SearchIndexStatus> DoGetSearchStatus();
  Result<SearchIndexReport> DoCatchUpSearchIndex();
  Result<SearchIndexReport> DoPurgeSearchIndex();
  Result<SearchIndexReport> DoRebuildSearchIndex();
  Result<SearchIndexReport> DoVerifySearchIndex();
  Result<SearchIndexReport> DoSetTextTokenizer(TextTokenizer tokenizer);
  Status DoSetBackgroundIndexing(bool enabled);
  // Vector search (src/api/vectors.cc).
  Result<EmbeddingSpace> DoCreateEmbeddingSpace(const EmbeddingSpaceSpec& spec);
  Result<std::vector<EmbeddingSpace>> DoListEmbeddingSpaces();
  Status DoDropEmbeddingSpace(std::string_view name);
  Status DoPutEmbeddings(std::string_view space, const std::vector<EmbeddingInput>& rows);
  Result<bool> DoDeleteEmbedding(std::string_view space, std::string_view id);
  Result<std::optional<std::vector<float>>> DoGetEmbedding(std::string_view space, std::string_view id);
  Result<VectorSearchResult> DoSearchVectors(const VectorSearchQuery& query);
  Result<HybridSearchResult> DoSearchHybrid(const HybridSearchQuery& query);
  Status DoSetVectorMemoryBudget(int64_t bytes);
  Result<VectorIndexInfo> DoCreateVectorIndex(std::string_view space, const VectorIndexSpec& spec);
  Result<bool> DoDropVectorIndex(std::string_view space);
  // At open of a read-write handle: starts the background full-text indexer (src/api/search.cc).
  void StartTextIndexer();
  // At open of a read-write file store with Options::background_checkpoints: starts the background checkpointer
  // and sets it on the writer.
  Status StartCheckpointer();
  // At open: finishes pending erasures when there are any (errors logged, never returned).
  void FinishErasuresOnOpen();

 private:
  // The audit log (src/api/audit.cc): the calling thread's actor on this handle (read on the calling thread, before
  // a write is queued: a group commit runs it on another thread), and the append of an entry convstore writes.
  AuditActor CurrentAuditActor() const;
  Status Audited(sqlite::Connection& conn, const AuditActor& who, AuditNote note);

  // Parts of archiving (src/api/archive.cc): a file store opened read-write, and a round's steps.
  Status CheckArchivable() const;
  Status StartGeneration(ArchiveSession& session, ArchiveReport* report, ArchiveSession::Generation* generation);
  Result<ArchivedBackup> TakeBaseBackup(ArchiveSession& session, const std::string& generation_path, int64_t tail,
                                        Micros tail_at, ArchiveReport* report);
  // Stops in-process archiving without a last round (Close).
  void StopArchiver();

  // Parts of the sync into PostgreSQL (src/api/sync.cc).
  Status CheckSyncable() const;
  Result<std::string> StoreId();  // the store's id in PostgreSQL, minted (in meta) by the first sync
  Status ConnectSync(SyncSession& session);
  Status LoadForSync(SyncSession& session, const std::string& reason, SyncReport* report);
  Status LoadSnapshot(SyncSession& session, const std::string& reason, SyncReport* report);
  Status EndForeignRun();  // appends an empty entry after a foreign-write marker ending the journal
  // Stops in-process sync without a last round (Close).
  void StopSyncer();

  // The journal's retention in batches of `batch_entries`, each its own write transaction with a "journal.pruned"
  // audit entry; `retention` instead of the stored one when given. after_batch(removed, took_us) after each.
  Result<JournalPruneReport> PruneJournalBatches(const JournalRetention* retention, int64_t batch_entries,
                                                 const std::function<void(int64_t removed, Micros took_us)>& after_batch);
  // Stops in-process retention (Close).
  void StopRetentionTask();

  // Full-text search (src/api/search.cc). Indexes the tail of every target in write transactions of `step_rows`
  // rows until none is left, reporting progress when given (its done counted here); returns the rows indexed.
  Result<int64_t> IndexTextTail(int64_t step_rows, const char* operation, const Progress* progress);
  // Runs purge steps (each its own write transaction) until the index holds no removed text; with
  // `only_if_pending`, only for targets that owe a purge. Returns the steps run.
  Result<int64_t> PurgeText(const char* operation, bool only_if_pending);
  // Empties the index (with `tokenizer`, or the store's) and indexes every row again, audited.
  Result<SearchIndexReport> ResetSearchIndex(std::optional<TextTokenizer> tokenizer, const char* operation);
  // `report` with the index's status now.
  Result<SearchIndexReport> SearchReport(SearchIndexReport report);
  // Stops the background indexer (Close).
  void StopTextIndexer();
  // Takes the checkpointer off the writer and stops it (Close).
  void StopCheckpointer();

  // Erasure (src/api/erase.cc): the pending steps of unfinished erasures (the WAL emptied, archives' earlier
  // generations removed), tried again; returns those still unfinished.
  Result<std::vector<ErasureStatus>> FinishPendingErasures(int64_t* archive_files_removed);
  // Records that archive `dir` no longer holds data from before the erasures up to journal entry `seq`.
  Status ArchiveCutForErasures(const std::string& dir, int64_t seq);

  // Parts of global budgets (src/api/global_budgets.cc), under global_mu_ where they take a session.
  Status ConnectGlobal(GlobalBudgetSession& session);
  Status ReconcileGlobal(GlobalBudgetSession& session);
  // After a local reservation: admits it against the global budgets (OK when none are in use); on refusal the
  // caller releases the local one.
  Status AdmitGlobally(const Reservation& local);
  // After a local settle or release: records it in the ledger (kept for later when PostgreSQL is unreachable).
  void RecordGlobally(const std::string& request_id, bool settled, NanoUsd cost_nanousd);

  // Statistics (src/api/statistics.cc). The page-cache use and automatic checkpoints of the connections gathered
  // into this handle's counters (the writer's under write_mu_).
  void GatherConnectionCounters();
  // Adds this handle's counters to those saved in the file, in one write transaction on the writer (Close, once the
  // counted calls have finished counting); errors are logged, and the counters then lost.
  void SaveStats() noexcept;
  void SaveStatsOrThrow();
  // A checkpoint run outside the automatic policy (optimize, erase, retention).
  void CountCheckpoint() noexcept { checkpoints_.fetch_add(1, std::memory_order_relaxed); }
  // Registers a counted call (Call) for its lifetime in counted_calls_, and on this thread, so that a Close run on
  // the same thread (from a callback inside a call) does not wait for the call it is part of.
  class CountedCall {
   public:
    explicit CountedCall(StoreImpl* store) noexcept : store_(store) {
      store_->counted_calls_.fetch_add(1);
      ++OnThisThread(store_);
    }
    ~CountedCall() {
      --OnThisThread(store_);
      store_->counted_calls_.fetch_sub(1, std::memory_order_release);
    }
    CountedCall(const CountedCall&) = delete;
    CountedCall& operator=(const CountedCall&) = delete;
    // This thread's counted calls of `store` in progress (its innermost stores; others are not tracked).
    static int64_t& OnThisThread(const StoreImpl* store) noexcept;

   private:
    StoreImpl* store_;
  };
  // Close: waits until the counted calls in progress are those of this thread.
  void WaitForCountedCalls() noexcept;

  // Runs the budget-alert callback for budgets whose spend crossed a limit with a committed write.
  void NotifyBudgetAlerts(const std::vector<BudgetAlert>& alerts) const;

  // Refuses calls on a closed (or inherited-through-fork) store before looking at their input, then runs f(),
  // checks that a record it returns holds only what convstore writes (stored_check.h), and turns any exception
  // (std::bad_alloc, mostly; or one thrown by an injected clock) into a Status.
  template <typename F>
  auto Guarded(F&& f) const noexcept -> decltype(f()) {
    util::CallScope in_call;  // a fork() waits for this call to leave (util/fork.h)
    try {
      if (Status usable = CheckUsable(); !usable.ok()) return usable;
      auto result = f();
      if constexpr (!std::is_same_v<decltype(result), Status>) {
        if (result.ok())
          if (Status stored = CheckStored(*result); !stored.ok()) return stored;
      }
      return result;
    } catch (const std::exception& e) {
      try {
        return Status::Internal(std::string("unexpected error: ") + e.what());
      } catch (...) {
      }
    } catch (...) {
    }
    return Status(Code::kInternal, "out of memory");  // fits std::string's inline buffer: cannot throw
  }
  int64_t Now() const { return env_->NowMicros(); }
  void LogIfSlow(const char* op, std::chrono::steady_clock::time_point start) const;

  // Runs fn(Connection&) -> Result<T> | Status inside a write transaction (shared with concurrent writes by the
  // write queue's group commit); returns its result once committed, or the error.
  template <typename F>
  auto Write(const char* op, F&& fn) -> std::invoke_result_t<F, sqlite::Connection&> {
    return WriteIn(op, /*alone=*/false, std::forward<F>(fn));
  }
  // Write in a transaction of its own, never grouped with other writes.
  template <typename F>
  auto WriteAlone(const char* op, F&& fn) -> std::invoke_result_t<F, sqlite::Connection&> {
    return WriteIn(op, /*alone=*/true, std::forward<F>(fn));
  }
  template <typename F>
  auto WriteIn(const char* op, bool alone, F&& fn) -> std::invoke_result_t<F, sqlite::Connection&> {
    using R = std::invoke_result_t<F, sqlite::Connection&>;
    std::shared_lock life(lifecycle_, std::defer_lock);
    util::LockParked(life);
    if (Status usable = CheckUsable(); !usable.ok()) return usable;
    if (options_.read_only) return Status::ReadOnly(std::string(op) + ": the store was opened read-only");
    auto start = std::chrono::steady_clock::now();
    std::optional<R> result;
    sqlite::PendingWrite w;
    w.alone = alone;
    w.body = [&](sqlite::Connection& conn) -> Status {
      try {
        result.emplace(fn(conn));
        return StatusOf(*result);
      } catch (const std::exception& e) {  // bad_alloc, mostly: the write is rolled back
        result.reset();
        return Status::Internal(std::string(op) + ": " + e.what());
      }
    };
    Status s = writes_->Submit(w);
    LogIfSlow(op, start);
    if (!s.ok()) return s;
    return std::move(*result);
  }

  // Write for writes that spend: fn(Connection&, std::vector<BudgetAlert>* alerts) appends the budget alerts its
  // spend raises to *alerts (nullptr: no callback is set, collect none); they are delivered once committed.
  template <typename F>
  auto WriteAlerting(const char* op, F&& fn) -> std::invoke_result_t<F, sqlite::Connection&, std::vector<BudgetAlert>*> {
    std::vector<BudgetAlert> alerts;
    std::vector<BudgetAlert>* wanted = options_.on_budget_alert ? &alerts : nullptr;
    auto result = Write(op, [&](sqlite::Connection& conn) {
      alerts.clear();  // a group commit may run the body again
      return fn(conn, wanted);
    });
    if (result.ok()) NotifyBudgetAlerts(alerts);
    return result;
  }

  // Runs fn(Connection&) -> Result<T> | Status on a reader connection (autocommit: each statement one snapshot).
  template <typename F>
  auto Read(const char* op, F&& fn) -> std::invoke_result_t<F, sqlite::Connection&> {
    std::shared_lock life(lifecycle_, std::defer_lock);
    util::LockParked(life);
    if (Status usable = CheckUsable(); !usable.ok()) return usable;
    auto start = std::chrono::steady_clock::now();
    try {
      if (readers_) {
        auto lease = readers_->Acquire();
        (*lease).EndStrayTransaction();  // single-statement reads rely on autocommit snapshots
        auto result = fn(*lease);
        LogIfSlow(op, start);
        return result;
      }
      std::unique_lock lock(write_mu_, std::defer_lock);
      util::LockParked(lock);
      auto result = fn(*writer_);
      cache_.Add(writer_->TakeCacheUse());  // SQLite's counters are ints: gathered after every read
      LogIfSlow(op, start);
      return result;
    } catch (const std::exception& e) {
      return Status::Internal(std::string(op) + ": " + e.what());
    }
  }

  // kClosed after Close, or in the child of a fork (SQLite connections must not cross fork()).
  Status CheckUsable() const;

  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& StatusOf(const Result<T>& r) { return r.status(); }

  Options options_;
  Env* const env_;  // options_.env or Env::Default()
  std::string path_;
  int schema_version_;
  std::atomic<bool> closed_{false};
  const uint64_t fork_generation_;  // util::ForkGeneration() when opened
  const uint64_t instance_id_;      // unique in the process (never reused): keys per-handle thread-local state
  mutable std::shared_mutex lifecycle_;
  std::mutex write_mu_;
  // A file store's file, while open (a restore refuses it; an exclusive one, other handles): outlives the writer.
  std::unique_ptr<OpenFileRegistration> registration_;
  std::unique_ptr<sqlite::Connection> writer_;
  std::unique_ptr<ops::JournalCapture> journal_;  // declared after writer_: destroyed before it
  std::unique_ptr<sqlite::ReaderPool> readers_;
  std::unique_ptr<sqlite::WriteQueue> writes_;
  // In-process archiving (StartArchiving): the session the thread's rounds use, and the thread.
  std::mutex archiver_mu_;
  std::unique_ptr<ArchiveSession> archive_session_;
  std::unique_ptr<BackgroundArchiver> archiver_;  // declared after the session it uses: stopped first
  // In-process sync (StartSync): the session the thread's rounds use, and the thread.
  std::mutex syncer_mu_;
  std::unique_ptr<SyncSession> sync_session_;
  std::unique_ptr<BackgroundSyncer> syncer_;  // declared after the session it uses: stopped first
  // Retention (src/api/retention.cc): one run at a time per handle; the schedule's thread and what it reports.
  std::mutex retention_run_mu_;
  std::mutex retention_mu_;
  std::unique_ptr<PeriodicTask> retention_task_;
  std::mutex retention_status_mu_;
  RetentionStatus retention_status_;
  // This handle's in-memory copies of embedding spaces (src/api/vectors.cc), by space name; each under its own
  // mutex (a search refreshes and scores its space's copy alone).
  struct VectorSlot {
    std::mutex mu;
    std::unique_ptr<search::VectorCopy> copy;
    std::unique_ptr<search::VectorIndex> index;  // the space's approximate index over `copy`, once built
    std::optional<search::IndexRecall> index_recall;  // measured when CreateVectorIndex built `index`
    std::atomic<int64_t> bytes{0};  // copy and index after the last search (read without mu for the budget)
  };
  // The helpers of a slot, called with its mutex held (src/api/vectors.cc): drop the copy and the index; their
  // bytes; bring the copy up to the snapshot (false: over the memory budget, search from the file); build the
  // index from the copy (false: over the budget).
  void DropVectorCopyLocked(VectorSlot& slot);
  int64_t VectorSlotBytesLocked(const VectorSlot& slot);
  Result<bool> ReadyVectorCopyLocked(sqlite::Connection& conn, VectorSlot& slot, const search::SpaceRow& space,
                                     const std::optional<VectorIndexSpec>& index_spec);
  Result<bool> BuildVectorIndexLocked(VectorSlot& slot, const VectorIndexSpec& spec);
  // A read snapshot of a space: its row and index setting as of it, and the slot's copy brought up to it (ready:
  // false when the copy does not fit in the budget). kNotFound for an unknown space.
  struct SpaceSnapshot {
    std::optional<sqlite::ReadTransaction> txn;
    search::SpaceRow space;
    std::optional<VectorIndexSpec> index;
    bool ready = false;
  };
  Status SnapshotSpaceLocked(sqlite::Connection& conn, VectorSlot& slot, const std::string& name,
                             SpaceSnapshot& snap);
  // Bytes held by the copies of spaces other than `except`.
  int64_t VectorBytesBesides(const VectorSlot* except);
  std::mutex vectors_mu_;  // guards the map, not the copies
  std::atomic<int64_t> vector_budget_{kDefaultVectorMemoryBudgetBytes};  // SetVectorMemoryBudget
  std::map<std::string, std::shared_ptr<VectorSlot>, std::less<>> vector_copies_;
  std::shared_ptr<VectorSlot> VectorSlotOf(const std::string& space);
  // The background checkpointer (StartCheckpointer): set on the writer, which asks it; stopped before the writer.
  std::unique_ptr<sqlite::Checkpointer> checkpointer_;
  // The background full-text indexer (StartTextIndexer).
  std::mutex indexer_mu_;
  std::unique_ptr<PeriodicTask> text_indexer_;
  std::atomic<bool> background_indexing_{true};  // Options::background_indexing, SetBackgroundIndexing
  // Global budgets (UseGlobalBudgets): the PostgreSQL session Reserve, Settle and Release go through.
  std::mutex global_mu_;
  std::unique_ptr<GlobalBudgetSession> global_;
  // Statistics: the operations' counters and the connections' (gathered); when counting began.
  OperationCounters operations_;
  sqlite::CacheCounters cache_;
  std::atomic<int64_t> checkpoints_{0};
  std::atomic<int64_t> counting_since_{0};
  std::atomic<bool> counting_{true};  // SetStatsEnabled
  std::atomic<int64_t> counted_calls_{0};  // CountedCall
};

}  // namespace convstore::api
