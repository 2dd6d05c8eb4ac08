// convstore/retention.h: how long the store keeps what it holds — whole conversations idle for a given time, API
// usage, metrics, audit entries and the change journal — and the runs that apply it, in bounded batches, from the
// API, `convstore retention`, or a schedule inside the process. docs/operations.md, "Retention".
//
// What a run deletes, it deletes for good; what the deleted rows spent does not go: each deleted message and API
// usage row is added to the retained cost (per UTC hour and the cost rollups' dimensions) in the transaction that
// deletes it, so cost summaries, budgets and verify_rollups are unchanged by a run. Every batch is its own write
// transaction and leaves an audit entry ("retention.applied"; the audit log's own retention leaves
// "audit.pruned", the journal's "journal.pruned").
//
// Thread-safe as the store is. One run at a time per handle (another process's run is serialised by SQLite's lock,
// batch by batch, and deletes what is left).
#ifndef CONVSTORE_RETENTION_H_
#define CONVSTORE_RETENTION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "convstore/export.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

// Ages in microseconds; nullopt keeps forever. Each given age is at least one second and at most 100 years.
struct RetentionPolicy {
  // A conversation not updated for this long goes whole: its messages, their tool calls, its deleted-message
  // tombstones and its metadata postings (API usage that named it stays, unlinked).
  std::optional<Micros> conversations_idle_us{};
  std::optional<Micros> api_usage_us{};   // API usage rows recorded longer ago
  std::optional<Micros> metrics_us{};     // metric points measured longer ago
  std::optional<Micros> audit_us{};       // audit entries written longer ago (never the newest: the chain's head)
  // The change journal's age limit — the same setting as JournalRetention::max_age_us (SetJournalRetention); its
  // size limit stays as it is. Entries a journal consumer has not read yet are kept.
  std::optional<Micros> journal_us{};
};

// Where a run is: the kind being deleted ("conversations", "api_usage", "metrics", "audit", "journal") and the
// rows (conversations and messages count one each) deleted so far in the whole run.
struct RetentionProgress {
  std::string_view kind{};
  int64_t rows_done = 0;
};

struct RetentionOptions {
  // Rows deleted per transaction, at most (1 to 100,000): the longest a writer waits is one batch. A conversation
  // with more messages than this loses its oldest messages batch by batch, then goes.
  int64_t batch_rows = 1000;
  // The policy to apply instead of the stored one (a one-off run).
  std::optional<RetentionPolicy> policy{};
  // Called on the calling thread after each batch; exceptions are caught and logged.
  std::function<void(const RetentionProgress&)> on_progress{};
};

struct RetentionReport {
  Micros started_at = 0;       // the horizons are measured from this time
  int64_t conversations = 0;   // deleted
  int64_t messages = 0;
  int64_t tool_calls = 0;
  int64_t tombstones = 0;
  int64_t api_usage = 0;
  int64_t metrics = 0;
  int64_t audit_entries = 0;
  int64_t journal_entries = 0;
  int64_t batches = 0;         // write transactions
  Micros longest_batch_us = 0;  // the longest of them: how long a concurrent writer could have waited
  Micros duration_us = 0;
};

// In-process retention (StartRetention).
struct RetentionStatus {
  bool running = false;
  Micros interval_us = 0;
  int64_t runs = 0;
  int64_t failed_runs = 0;
  std::optional<RetentionReport> last{};  // the last run that succeeded
  std::string last_error{};               // of the last run, when it failed
};

// The retention capability of a ConversationStore (a base of it: call these on the store). Non-virtual and without
// data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT Retention {
 public:
  // Stores the policy in the file (every process and `convstore retention apply` use it). Writes an audit entry
  // "retention.policy_set". kInvalidArgument for an age out of range; nothing is written then.
  Status SetRetentionPolicy(const RetentionPolicy& policy);
  // The stored policy (all nullopt when none was set).
  Result<RetentionPolicy> GetRetentionPolicy();
  // Applies the policy now, in batches of at most options.batch_rows rows.
  Result<RetentionReport> ApplyRetention(const RetentionOptions& options = {});
  // Applies the stored policy every interval_us (at least one second) on a background thread until
  // StopRetention or Close; the first run starts at once. kConflict when already started on this handle. A failed
  // run is logged and kept in GetRetentionStatus; the next run tries again.
  Status StartRetention(Micros interval_us);
  // Stops the thread, waiting for a run in progress. kNotFound when not started.
  Result<RetentionStatus> StopRetention();
  Result<RetentionStatus> GetRetentionStatus();

 protected:
  Retention() = default;
  ~Retention() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_RETENTION_H_
