// convstore/sync.h: streaming a store into PostgreSQL, where many stores (one per agent host) meet in one database
// with the seed chapter's schema (conversations, messages, users, teams, tool_calls, api_usage by month, ...).
//
// The sync reads the store's change journal and applies each entry to PostgreSQL in a transaction that also
// advances the store's position there (convstore_stores), so a crash or kill of either side at any moment loses
// nothing and applies nothing twice. The first round (and any round after the journal cannot be continued: a
// restore, the journal switched off, entries removed before they were synced) loads the whole store through COPY
// instead. docs/sync.md describes the tables, the mapping and the deployment.
//
// Thread-safe as the store is.
#ifndef CONVSTORE_SYNC_H_
#define CONVSTORE_SYNC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/cost.h"
#include "convstore/export.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

struct SyncOptions {
  // libpq connection string or URI: "postgresql://sync@db.internal/agents", "host=/run/postgresql dbname=agents".
  // A password belongs in ~/.pgpass or PGPASSWORD rather than here; messages never repeat it.
  std::string postgres_url{};
  std::string schema = "public";       // the PostgreSQL schema holding the tables (created when missing)
  int64_t interval_us = 250'000;       // in-process sync: a commit reaches PostgreSQL within about this (1 ms .. 1 h)
  int64_t batch_entries = 1'000;       // journal entries per PostgreSQL transaction (1 .. 100,000)
  std::string label{};                 // how convstore_stores names this store ("": "<host>:<absolute path>")
};

struct SyncReport {
  std::string store_id{};          // the store's id in PostgreSQL (a UUID kept in the store)
  bool loaded = false;             // this round loaded the whole store
  std::string load_reason{};       // why it did ("first sync", "journal entry 41 is a restore marker", ...)
  int64_t rows_loaded = 0;
  int64_t entries_applied = 0;
  int64_t changes_applied = 0;     // row changes, including those sent to the dead letters
  int64_t dead_letters = 0;        // rows PostgreSQL refused (convstore_dead_letters says why)
  int64_t position = 0;            // the last journal entry PostgreSQL holds
  Micros position_committed_at = 0;
  int64_t pending_entries = 0;     // journal entries after it (0: caught up)
  int64_t lag_us = 0;              // now minus the commit time of the oldest entry not yet in PostgreSQL (0: caught up)
};

// In-process sync (StartSync): what it has done so far.
struct SyncStatus {
  bool running = false;
  std::string postgres{};          // "PostgreSQL database D on H as user U" (no password)
  int64_t rounds = 0;
  int64_t failed_rounds = 0;
  int64_t consecutive_failures = 0;  // failed rounds since the last success: the backoff grows with them
  std::string last_error{};        // of the last failed round ("" when the last round succeeded)
  Micros last_success_at = 0;
  SyncReport totals{};             // counts summed over the rounds; position, pending and lag from the latest
};

// ---- global budgets ----
// A budget shared by every store that uses the same PostgreSQL: reservations and settlements go through it, so N
// hosts sharing a team's budget cannot spend N times it. Defined by the keys every store uses (scope "global",
// "team" with a team key, "user" with a user key). docs/sync.md, "One budget across many hosts".

// What a store does with a reservation when the PostgreSQL of its global budgets cannot be reached.
enum class GlobalBudgetFallback {
  kRefuse = 0,          // refuse it with kUnavailable (the store's own reservation is released)
  kLocalAllowance = 1,  // admit up to local_allowance_nanousd in all while unreachable; recorded in PostgreSQL's
                        // ledger once it is back (so the fleet can pass a limit by at most hosts x allowance)
};

struct GlobalBudgetOptions {
  std::string postgres_url{};     // as SyncOptions::postgres_url
  std::string schema = "public";
  GlobalBudgetFallback when_unreachable = GlobalBudgetFallback::kRefuse;
  NanoUsd local_allowance_nanousd = 0;  // kLocalAllowance: 0 .. limits::kMaxTeamBudgetNanoUsd
};

struct GlobalBudgetState {
  BudgetInput budget{};
  Micros window_from = 0, window_to = 0;
  NanoUsd settled_nanousd = 0;    // settled reservations made inside the window, every store's
  NanoUsd reserved_nanousd = 0;   // open, unexpired reservations, every store's
};

// The sync capability of a ConversationStore (a base of it: call these on the store). Non-virtual and without
// data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT Sync {
 public:
  // One round on the calling thread: connects, creates (or checks) the tables, loads the store when PostgreSQL
  // does not hold its current history, then applies every journal entry committed so far. The store keeps the
  // entries not yet synced (a journal consumer named after the database). kUnavailable when PostgreSQL cannot be
  // reached; kInvalidArgument for bad options, a bad connection string or a refused login; kSchemaTooNew when
  // the tables are newer than this convstore; kConflict when the schema holds tables convstore did not create or
  // the store's journal is off; kBusy when another process syncs this store into the same database;
  // kInvalidArgument for an in-memory store; kReadOnly for a read-only one.
  Result<SyncReport> SyncToPostgres(const SyncOptions& options);
  // The same rounds on a background thread every options.interval_us until StopSync or Close. A failed round is
  // logged and kept in GetSyncStatus; after failures the next round waits longer (doubling, at most 30 s), so a
  // restarted PostgreSQL is reconnected to. kConflict when already syncing; the options are checked first.
  Status StartSync(const SyncOptions& options);
  // Runs a last round (everything committed so far reaches PostgreSQL), stops the thread and returns the totals;
  // the last round's error when it failed. kNotFound when not syncing.
  Result<SyncReport> StopSync();
  Result<SyncStatus> GetSyncStatus();

  // Global budgets: from now on this handle's Reserve also admits against the global budgets covering the call
  // (atomically in PostgreSQL), Settle records the actual cost there and Release frees it; the store's own budgets
  // still apply. Options are checked here; PostgreSQL is reached on first use. kInvalidArgument for bad options,
  // an in-memory store; kReadOnly for a read-only one.
  Status UseGlobalBudgets(const GlobalBudgetOptions& options);
  // Creates or replaces a global budget (BudgetInput as for SetBudget; keys need not exist in this store).
  // kInvalidArgument before UseGlobalBudgets; kUnavailable when PostgreSQL cannot be reached.
  Status SetGlobalBudget(const BudgetInput& budget);
  Status DeleteGlobalBudget(std::string_view name);  // kNotFound when there is none
  Result<std::vector<GlobalBudgetState>> ListGlobalBudgets();

 protected:
  Sync() = default;
  ~Sync() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_SYNC_H_
