// The store's health (Monitoring::CheckHealth): the facts read here, each group from its own snapshot, and weighed
// by ops::JudgeHealth.
#include "api/store_impl.h"
#include "api/stored_check.h"
#include "ops/health.h"
#include "ops/journal.h"
#include "ops/maintenance.h"
#include "util/directory.h"
#include "util/durable_file.h"

namespace convstore {

const char* HealthLevelName(HealthLevel level) {
  switch (level) {
    case HealthLevel::kOk: return "ok";
    case HealthLevel::kWarn: return "warn";
    case HealthLevel::kFail: return "fail";
  }
  return "unknown";
}

}  // namespace convstore

namespace convstore::api {

namespace {

constexpr int kJournalSchemaVersion = 6;   // the first with the change journal
constexpr int kErasureSchemaVersion = 9;   // ... with erasures

// How far each journal consumer is behind (inside the caller's read transaction).
Status ReadConsumerLags(sqlite::Connection& conn, std::vector<ops::ConsumerLag>* out) {
  auto last = ops::LastSeq(conn);
  if (!last.ok()) return last.status();
  auto consumers = ops::ReadConsumers(conn);
  if (!consumers.ok()) return consumers.status();
  const int64_t last_seq = *last;
  for (const JournalConsumer& c : *consumers) {
    ops::ConsumerLag lag;
    lag.name = c.name;
    lag.kind = IsArchiveConsumer(c.name) ? ops::ConsumerLag::Kind::kArchive
               : IsSyncConsumer(c.name)  ? ops::ConsumerLag::Kind::kSync
                                         : ops::ConsumerLag::Kind::kOther;
    // A sync keeps its position one entry behind what it applied (SyncConsumerName).
    const int64_t taken = lag.kind == ops::ConsumerLag::Kind::kSync && c.seq > 0
                              ? std::min(c.seq + 1, last_seq)
                              : c.seq;
    lag.behind = std::max<int64_t>(0, last_seq - taken);
    if (lag.behind > 0) {
      auto at = ops::FirstCommitAfter(conn, taken);
      if (!at.ok()) return at.status();
      lag.oldest_pending_at = at->value_or(0);
    }
    out->push_back(std::move(lag));
  }
  return Status::OK();
}

}  // namespace

Result<HealthReport> StoreImpl::DoCheckHealth(const HealthOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(ops::ValidateThresholds(options.thresholds));
  ops::HealthFacts facts;
  facts.in_memory = path_ == ConversationStore::kInMemory;
  facts.has_journal = schema_version_ >= kJournalSchemaVersion;
  if (!facts.in_memory) {
    auto wal = util::FileSize(path_ + "-wal");
    facts.wal_bytes = wal.ok() ? *wal : 0;  // no WAL file: nothing in it
    auto space = util::SpaceOf(util::DirectoryOf(path_));
    if (space.ok()) {
      facts.disk_free_bytes = space->free_bytes;
      facts.disk_total_bytes = space->total_bytes;
    } else {
      facts.disk_error = space.status().message();
    }
  }
  CONVSTORE_RETURN_IF_ERROR(Read("check_health", [&](sqlite::Connection& conn) -> Status {
    if (options.quick_check) {
      auto problems = ops::QuickCheckProblems(conn);
      // A file SQLite cannot read through is the worst finding, not an error of the call.
      if (!problems.ok() && problems.status().code() != Code::kCorruption) return problems.status();
      facts.quick_check_problems =
          problems.ok() ? *problems : std::vector<std::string>{problems.status().message()};
    }
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    auto file = ops::ReadFileFacts(conn);
    if (!file.ok()) return file.status();
    facts.page_size = file->page_size;
    facts.page_count = file->page_count;
    facts.free_pages = file->free_pages;
    return facts.has_journal ? ReadConsumerLags(conn, &facts.consumers) : Status::OK();
  }));
  auto budgets = DoGetBudgets(0);
  if (!budgets.ok()) return budgets.status();
  CONVSTORE_RETURN_IF_ERROR(CheckStored(*budgets));
  facts.budgets = std::move(*budgets);
  if (schema_version_ >= kErasureSchemaVersion) {
    auto erasures = DoListErasures();
    if (!erasures.ok()) return erasures.status();
    for (const ErasureStatus& e : *erasures) {
      if (e.finished_at) continue;
      if (facts.unfinished_erasures++ == 0 && !e.pending.empty()) facts.first_erasure_pending = e.pending.front();
    }
  }
  facts.now = Now();
  return ops::JudgeHealth(facts, options.thresholds);
}

}  // namespace convstore::api
