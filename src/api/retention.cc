// Retention (convstore/retention.h): the stored policy, a run that applies it in bounded write transactions, and
// the background thread that runs it on a schedule.
//
// A run walks each table once in row-id order on a reader connection, picking candidates, and deletes them in
// write transactions of at most batch_rows rows, re-checking each candidate there (a conversation written to since
// it was picked is no longer idle). Each transaction keeps the derived structures in step — the deleted rows' cost
// moves to the retained cost, their metadata postings go — and appends a "retention.applied" audit entry.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/store_impl.h"
#include "cost/retained.h"
#include "cost/rollups.h"
#include "metadata/index.h"
#include "search/text_index.h"
#include "ops/audit_log.h"
#include "ops/journal.h"
#include "ops/maintenance.h"
#include "ops/metrics.h"
#include "records/conversations.h"
#include "records/expiry.h"
#include "util/json_writer.h"
#include "util/logging.h"
#include "util/validate.h"

namespace convstore::api {

namespace {

constexpr Micros kMinAge = 1'000'000;                        // one second
constexpr Micros kMaxAge = 36'525 * cost::kMicrosPerDay;     // 100 years
constexpr int64_t kMaxBatchRows = 100'000;
constexpr const char* kPolicyKey = "retention_policy";

// The policy's fields, named as in the stored JSON, the C ABI and Python.
struct Field {
  const char* name;
  std::optional<Micros> RetentionPolicy::*member;
};
constexpr Field kStoredFields[] = {{"conversations_idle_us", &RetentionPolicy::conversations_idle_us},
                                   {"api_usage_us", &RetentionPolicy::api_usage_us},
                                   {"metrics_us", &RetentionPolicy::metrics_us},
                                   {"audit_us", &RetentionPolicy::audit_us}};

Status CheckPolicy(const RetentionPolicy& policy) {
  for (const Field& f : kStoredFields)
    CONVSTORE_RETURN_IF_ERROR(util::CheckRange(policy.*f.member, kMinAge, kMaxAge, f.name));
  return util::CheckRange(policy.journal_us, kMinAge, kMaxAge, "journal_us");
}

// The policy as JSON: the four ages it keeps itself (its stored form in meta; the journal's age lives in
// journal_state), and with `with_journal` that one too (the audit entry's details).
std::string PolicyJson(const RetentionPolicy& policy, bool with_journal) {
  util::JsonWriter w;
  w.BeginObject();
  for (const Field& f : kStoredFields)
    if (policy.*f.member) w.Key(f.name).Int(*(policy.*f.member));
  if (with_journal && policy.journal_us) w.Key("journal_us").Int(*policy.journal_us);
  w.EndObject();
  return w.Take();
}

// What the file holds: the policy (its journal age from the journal's retention) and the journal's retention.
struct StoredRetention {
  RetentionPolicy policy;
  JournalRetention journal;
};

Result<StoredRetention> LoadRetention(sqlite::Connection& conn) {
  StoredRetention stored;
  auto text = conn.QueryRow("SELECT value FROM meta WHERE key = ?1", "read the retention policy",
                            [](const sqlite::Stmt& st) { return st.String(0); }, std::string_view(kPolicyKey));
  if (!text.ok()) return text.status();
  if (*text) {
    auto doc = nlohmann::json::parse(**text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return Status::Corruption("the stored retention policy is not a JSON object");
    for (const Field& f : kStoredFields) {
      auto it = doc.find(f.name);
      if (it == doc.end()) continue;
      if (!it->is_number_integer() || !util::CheckRange(it->get<int64_t>(), kMinAge, kMaxAge, f.name).ok())
        return Status::Corruption(fmt::format("the stored retention policy's {} is not an age convstore writes", f.name));
      stored.policy.*f.member = it->get<int64_t>();
    }
  }
  auto journal = ops::ReadRetention(conn);
  if (!journal.ok()) return journal.status();
  stored.journal = *journal;
  stored.policy.journal_us = journal->max_age_us;
  return stored;
}

Result<StoredRetention> ReadStoredRetention(sqlite::Connection& conn) {
  auto txn = sqlite::ReadTransaction::Begin(conn);  // the meta row and journal_state from one snapshot
  if (!txn.ok()) return txn.status();
  return LoadRetention(conn);
}

// Deleted so far, by kind, in one batch (reset when a group commit runs the body again).
struct BatchCounts {
  int64_t conversations = 0, messages = 0, tool_calls = 0, tombstones = 0, api_usage = 0;
};

std::string BatchDetails(const char* kind, Micros before, const BatchCounts& c) {
  util::JsonWriter w;
  w.BeginObject().Key("kind").String(kind).Key("before").Int(before);
  if (std::string_view(kind) == "conversations") {
    w.Key("conversations").Int(c.conversations).Key("messages").Int(c.messages).Key("tool_calls").Int(c.tool_calls)
        .Key("tombstones").Int(c.tombstones);
  } else if (std::string_view(kind) == "api_usage") {
    w.Key("api_usage").Int(c.api_usage);
  }
  return w.EndObject().Take();
}

}  // namespace

Status StoreImpl::DoSetRetentionPolicy(const RetentionPolicy& policy) {
  CONVSTORE_RETURN_IF_ERROR(CheckPolicy(policy));
  const AuditActor who = CurrentAuditActor();
  return Write("set_retention_policy", [&](sqlite::Connection& conn) -> Status {
    CONVSTORE_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        "store the retention policy", std::string_view(kPolicyKey), PolicyJson(policy, /*with_journal=*/false)));
    auto journal = ops::ReadRetention(conn);
    if (!journal.ok()) return journal.status();
    JournalRetention kept = *journal;  // its size limit stays
    kept.max_age_us = policy.journal_us;
    CONVSTORE_RETURN_IF_ERROR(ops::SetRetention(conn, kept));
    return Audited(conn, who, {"retention.policy_set", "store", "", std::nullopt,
                               PolicyJson(policy, /*with_journal=*/true)});
  });
}

Result<RetentionPolicy> StoreImpl::DoGetRetentionPolicy() {
  auto stored = Read("get_retention_policy", ReadStoredRetention);
  if (!stored.ok()) return stored.status();
  return stored->policy;
}

Result<RetentionReport> StoreImpl::DoApplyRetention(const RetentionOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(options.batch_rows, 1, kMaxBatchRows, "batch_rows"));
  if (options.policy) CONVSTORE_RETURN_IF_ERROR(CheckPolicy(*options.policy));
  if (options_.read_only) return Status::ReadOnly("apply_retention: the store was opened read-only");
  auto stored = Read("apply_retention", ReadStoredRetention);
  if (!stored.ok()) return stored.status();
  const RetentionPolicy policy = options.policy.value_or(stored->policy);
  std::unique_lock one_run(retention_run_mu_, std::defer_lock);  // runs on one handle take turns
  util::LockParked(one_run);
  const auto run_started = std::chrono::steady_clock::now();
  RetentionReport report;
  report.started_at = Now();
  const AuditActor who = CurrentAuditActor();
  const int64_t batch_rows = options.batch_rows;
  int64_t rows_done = 0;

  auto progress = [&](std::string_view kind, int64_t rows) {
    rows_done += rows;
    if (!options.on_progress) return;
    try {
      util::ParkedScope in_user_code;
      options.on_progress(RetentionProgress{kind, rows_done});
    } catch (...) {
      util::Logger().error("the retention progress callback threw; ignored");
    }
  };
  // A connection of the run's own for checkpoints between batches (file stores): the WAL the batches write is
  // copied back here, on this thread, so that no writer's commit crosses SQLite's automatic-checkpoint threshold
  // and pays for copying a batch's pages (measured: a concurrent writer's longest wait is then one batch, against
  // about half a second without). Best effort: without it, SQLite's own checkpoints still run.
  std::unique_ptr<sqlite::Connection> checkpointer;
  if (!one_connection()) {
    sqlite::ConnectionConfig config;
    config.busy_timeout_ms = 0;
    auto opened = sqlite::Connection::Open(path_, config);
    if (opened.ok()) checkpointer = std::move(*opened);
  }
  // Runs one write transaction, timed: the longest is how long a concurrent writer may have waited.
  auto batch = [&](const char* op, auto&& body) {
    const auto started = std::chrono::steady_clock::now();
    auto result = Write(op, body);
    const Micros took =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    ++report.batches;
    report.longest_batch_us = std::max(report.longest_batch_us, took);
    if (checkpointer)
      if (ops::CheckpointPassive(*checkpointer).ok()) CountCheckpoint();
    return result;
  };

  // Whole conversations idle since before the horizon.
  if (policy.conversations_idle_us) {
    const Micros before = report.started_at - *policy.conversations_idle_us;
    // Deletes the conversations of one batch (each re-checked): their messages, tool calls and tombstones go by
    // cascade, after their cost has moved to the retained cost and their postings have gone.
    auto delete_whole = [&](const std::vector<records::IdleConversation>& group) -> Status {
      BatchCounts counts;
      auto done = batch("apply_retention", [&](sqlite::Connection& conn) -> Status {
        counts = BatchCounts{};
        for (const records::IdleConversation& candidate : group) {
          auto now = records::RecheckIdle(conn, candidate.row_id, before);
          if (!now.ok()) return now.status();
          if (!*now) continue;
          auto tools = records::CountToolCallsOfConversation(conn, candidate.row_id);
          if (!tools.ok()) return tools.status();
          // The cost rows are its stored messages' and its tombstones': the tombstones are the rest.
          std::vector<cost::CostRow> spent;
          CONVSTORE_RETURN_IF_ERROR(cost::ConversationCostRows(conn, candidate.row_id, spent));
          CONVSTORE_RETURN_IF_ERROR(cost::RetainCostRows(conn, spent));
          CONVSTORE_RETURN_IF_ERROR(metadata::BeforeConversationDelete(conn, candidate.row_id));
          CONVSTORE_RETURN_IF_ERROR(search::BeforeConversationDelete(conn, candidate.row_id));
          CONVSTORE_RETURN_IF_ERROR(records::DeleteConversationRow(conn, candidate.row_id));
          ++counts.conversations;
          counts.messages += (*now)->messages;
          counts.tool_calls += *tools;
          counts.tombstones += static_cast<int64_t>(spent.size()) - (*now)->messages;
        }
        if (counts.conversations == 0) return Status::OK();
        return Audited(conn, who, {"retention.applied", "conversations", "", std::nullopt,
                                   BatchDetails("conversations", before, counts)});
      });
      if (!done.ok()) return done;
      report.conversations += counts.conversations;
      report.messages += counts.messages;
      report.tool_calls += counts.tool_calls;
      report.tombstones += counts.tombstones;
      if (counts.conversations > 0) progress("conversations", counts.conversations + counts.messages);
      return Status::OK();
    };
    // Takes the oldest messages of a conversation too large for one batch, batch by batch, until the rest fits.
    // Returns whether it is still idle (else it stays, with what is left).
    auto trim_large = [&](const records::IdleConversation& candidate) -> Result<bool> {
      for (;;) {
        BatchCounts counts;
        bool idle = true, fits = false;
        auto done = batch("apply_retention", [&](sqlite::Connection& conn) -> Status {
          counts = BatchCounts{};
          auto now = records::RecheckIdle(conn, candidate.row_id, before);
          if (!now.ok()) return now.status();
          idle = now->has_value();
          fits = idle && (*now)->messages + 1 <= batch_rows;
          if (!idle || fits) return Status::OK();
          auto ids = records::OldestMessageIds(conn, candidate.row_id, batch_rows);
          if (!ids.ok()) return ids.status();
          auto tools = records::CountToolCallsOfMessages(conn, *ids);
          if (!tools.ok()) return tools.status();
          std::vector<cost::CostRow> spent;
          CONVSTORE_RETURN_IF_ERROR(cost::MessageCostRows(conn, *ids, spent));
          CONVSTORE_RETURN_IF_ERROR(cost::RetainCostRows(conn, spent));
          CONVSTORE_RETURN_IF_ERROR(metadata::BeforeMessagesDelete(conn, *ids));
          CONVSTORE_RETURN_IF_ERROR(search::BeforeRowsChange(conn, TextSearchTarget::kMessages, *ids));
          CONVSTORE_RETURN_IF_ERROR(records::DropMessages(conn, candidate.row_id, *ids));
          counts.messages = static_cast<int64_t>(ids->size());
          counts.tool_calls = *tools;
          return Audited(conn, who, {"retention.applied", "conversation", candidate.uid, candidate.user_id,
                                     BatchDetails("conversations", before, counts)});
        });
        if (!done.ok()) return done;
        report.messages += counts.messages;
        report.tool_calls += counts.tool_calls;
        if (counts.messages > 0) progress("conversations", counts.messages);
        if (!idle || fits) return idle;
      }
    };

    int64_t after_row = 0;
    for (;;) {
      auto candidates = Read("apply_retention", [&](sqlite::Connection& conn) {
        return records::FindIdleConversations(conn, after_row, before, 512);
      });
      if (!candidates.ok()) return candidates.status();
      if (candidates->empty()) break;
      after_row = candidates->back().row_id;
      std::vector<records::IdleConversation> group;
      int64_t group_rows = 0;
      for (const records::IdleConversation& c : *candidates) {
        int64_t rows = c.messages + 1;
        if (rows > batch_rows) {
          auto idle = trim_large(c);
          if (!idle.ok()) return idle.status();
          if (!*idle) continue;
          rows = batch_rows;  // what is left fits in a batch of its own
        }
        if (!group.empty() && group_rows + rows > batch_rows) {
          CONVSTORE_RETURN_IF_ERROR(delete_whole(group));
          group.clear();
          group_rows = 0;
        }
        group.push_back(c);
        group_rows += rows;
      }
      if (!group.empty()) CONVSTORE_RETURN_IF_ERROR(delete_whole(group));
    }
  }

  // API usage recorded before the horizon.
  if (policy.api_usage_us) {
    const Micros before = report.started_at - *policy.api_usage_us;
    int64_t after_row = 0;
    for (;;) {
      auto candidates = Read("apply_retention", [&](sqlite::Connection& conn) {
        return records::FindOldApiUsage(conn, after_row, before, batch_rows);
      });
      if (!candidates.ok()) return candidates.status();
      if (candidates->empty()) break;
      after_row = candidates->back();
      BatchCounts counts;
      auto done = batch("apply_retention", [&](sqlite::Connection& conn) -> Status {
        counts = BatchCounts{};
        auto ids = records::RecheckOldApiUsage(conn, *candidates, before);
        if (!ids.ok()) return ids.status();
        if (ids->empty()) return Status::OK();
        std::vector<cost::CostRow> spent;
        CONVSTORE_RETURN_IF_ERROR(cost::ApiUsageCostRows(conn, *ids, spent));
        CONVSTORE_RETURN_IF_ERROR(cost::RetainCostRows(conn, spent));
        CONVSTORE_RETURN_IF_ERROR(metadata::BeforeRowsDelete(conn, MetadataTarget::kApiUsage, *ids));
        CONVSTORE_RETURN_IF_ERROR(records::DeleteApiUsageRows(conn, *ids));
        counts.api_usage = static_cast<int64_t>(ids->size());
        return Audited(conn, who,
                       {"retention.applied", "api_usage", "", std::nullopt, BatchDetails("api_usage", before, counts)});
      });
      if (!done.ok()) return done;
      report.api_usage += counts.api_usage;
      if (counts.api_usage > 0) progress("api_usage", counts.api_usage);
    }
  }

  // Removes `prune(conn, before)`'s rows batch by batch until a batch comes back short; the count.
  auto prune_in_batches = [&](const char* kind, Micros before,
                              const std::function<Result<int64_t>(sqlite::Connection&, Micros)>& prune)
      -> Result<int64_t> {
    int64_t total = 0;
    for (int64_t removed = batch_rows; removed == batch_rows;) {
      auto done = batch("apply_retention", [&](sqlite::Connection& conn) { return prune(conn, before); });
      if (!done.ok()) return done.status();
      removed = *done;
      total += removed;
      if (removed > 0) progress(kind, removed);
    }
    return total;
  };

  // Metric points measured before the horizon: a range delete on the time index.
  if (policy.metrics_us) {
    auto removed = prune_in_batches("metrics", report.started_at - *policy.metrics_us,
                                    [&](sqlite::Connection& conn, Micros before) -> Result<int64_t> {
      auto n = ops::PruneMetrics(conn, before, batch_rows);
      if (!n.ok() || *n == 0) return n;
      const std::string details = util::JsonWriter().BeginObject().Key("kind").String("metrics").Key("before")
          .Int(before).Key("metrics").Int(*n).EndObject().Take();
      CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, {"retention.applied", "metrics", "", std::nullopt, details}));
      return n;
    });
    if (!removed.ok()) return removed.status();
    report.metrics = *removed;
  }

  // Audit entries written before the horizon (the prune records the cut in an "audit.pruned" entry).
  if (policy.audit_us) {
    auto removed = prune_in_batches("audit", report.started_at - *policy.audit_us,
                                    [&](sqlite::Connection& conn, Micros before) -> Result<int64_t> {
      auto pruned = ops::PruneAudit(conn, before, batch_rows, who.actor, Now());
      if (!pruned.ok()) return pruned.status();
      return pruned->removed;
    });
    if (!removed.ok()) return removed.status();
    report.audit_entries = *removed;
  }

  // The change journal: its age limit is the policy's, its size limit the stored one.
  JournalRetention journal = stored->journal;
  journal.max_age_us = policy.journal_us;
  if (journal.max_age_us || journal.max_bytes) {
    auto pruned = PruneJournalBatches(&journal, batch_rows, [&](int64_t removed, Micros took) {
      ++report.batches;
      report.longest_batch_us = std::max(report.longest_batch_us, took);
      if (removed > 0) progress("journal", removed);
    });
    if (!pruned.ok()) return pruned.status();
    report.journal_entries = pruned->removed;
  }

  // The deleted text's tokens merged out of the full-text index's older pages, step by step.
  if (report.conversations > 0 || report.messages > 0) {
    auto purged = PurgeText("apply_retention", /*only_if_pending=*/true);
    if (!purged.ok()) return purged.status();
  }

  report.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - run_started).count();
  return report;
}

Status StoreImpl::DoStartRetention(Micros interval_us) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(interval_us, kMinAge, kMaxAge, "interval_us"));
  if (options_.read_only) return Status::ReadOnly("start_retention: the store was opened read-only");
  std::unique_lock lock(retention_mu_, std::defer_lock);
  util::LockParked(lock);
  if (retention_task_) return Status::Conflict("retention is already running on this handle");
  retention_status_ = RetentionStatus{};
  retention_status_.running = true;
  retention_status_.interval_us = interval_us;
  retention_task_ = std::make_unique<PeriodicTask>(interval_us, [this] {
    auto run = Call<&StoreImpl::DoApplyRetention>(RetentionOptions{});
    if (!run.ok() && run.status().code() != Code::kClosed)
      util::Logger().error("retention run failed (next try in the next interval): {}", run.status().ToString());
    std::lock_guard status_lock(retention_status_mu_);
    ++retention_status_.runs;
    if (run.ok()) {
      retention_status_.last = *run;
      retention_status_.last_error.clear();
    } else {
      ++retention_status_.failed_runs;
      retention_status_.last_error = run.status().ToString();
    }
  });
  return Status::OK();
}

Result<RetentionStatus> StoreImpl::DoStopRetention() {
  std::unique_lock lock(retention_mu_, std::defer_lock);
  util::LockParked(lock);
  if (!retention_task_) return Status::NotFound("retention is not running on this handle");
  {
    util::ParkedScope parked;
    retention_task_->Stop();
  }
  retention_task_.reset();
  std::lock_guard status_lock(retention_status_mu_);
  retention_status_.running = false;
  return retention_status_;
}

Result<RetentionStatus> StoreImpl::DoGetRetentionStatus() {
  std::lock_guard status_lock(retention_status_mu_);
  return retention_status_;
}

void StoreImpl::StopRetentionTask() {
  if (util::ForkGeneration() != fork_generation_) {
    (void)retention_task_.release();  // the parent's thread: not in this process
    return;
  }
  std::unique_lock lock(retention_mu_, std::defer_lock);
  util::LockParked(lock);
  if (retention_task_) {
    util::ParkedScope parked;
    retention_task_->Stop();
  }
  retention_task_.reset();
}

}  // namespace convstore::api
