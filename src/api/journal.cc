// The change journal's entry points (convstore/ops.h).
#include <fmt/format.h>

#include <chrono>

#include "api/store_impl.h"
#include "ops/journal.h"
#include "ops/journal_words.h"
#include "util/json_writer.h"

namespace convstore::api {

namespace {

constexpr int64_t kMaxJournalRead = 10000;
constexpr int64_t kPruneBatch = 10000;  // entries removed per transaction: writers wait at most one batch

}  // namespace

namespace {

Status CheckJournalQuery(const JournalQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(query.limit, 1, kMaxJournalRead, "limit"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(query.after_seq, 0, INT64_MAX, "after_seq"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(query.since, "since"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(query.until, "until"));
  if (query.since && query.until && *query.since > *query.until)
    return Status::InvalidArgument("since is after until");
  return Status::OK();
}

}  // namespace

Result<std::vector<JournalEntry>> StoreImpl::DoReadJournal(const JournalQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(CheckJournalQuery(query));
  return Read("read_journal", [&](sqlite::Connection& conn) -> Result<std::vector<JournalEntry>> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return ops::ReadEntries(conn, query);
  });
}

Result<std::vector<JournalDescription>> StoreImpl::DoDescribeJournal(const JournalQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(CheckJournalQuery(query));
  JournalQuery decoded = query;
  decoded.decode = true;
  return Read("describe_journal", [&](sqlite::Connection& conn) -> Result<std::vector<JournalDescription>> {
    auto txn = sqlite::ReadTransaction::Begin(conn);  // the entries and the names they refer to, one snapshot
    if (!txn.ok()) return txn.status();
    auto entries = ops::ReadEntries(conn, decoded);
    if (!entries.ok()) return entries.status();
    auto lines = ops::DescribeEntries(conn, *entries);
    if (!lines.ok()) return lines.status();
    std::vector<JournalDescription> out;
    for (size_t i = 0; i < entries->size(); ++i) {
      const JournalEntry& e = (*entries)[i];
      out.push_back({e.seq, e.committed_at, e.kind, std::move((*lines)[i])});
    }
    return out;
  });
}

Result<JournalStatus> StoreImpl::DoGetJournalStatus() {
  return Read("journal_status", [&](sqlite::Connection& conn) -> Result<JournalStatus> {
    auto txn = sqlite::ReadTransaction::Begin(conn);  // counts, times and consumers from one snapshot
    if (!txn.ok()) return txn.status();
    return ops::ReadStatus(conn);
  });
}

Status StoreImpl::DoSetJournalEnabled(bool enabled) {
  const AuditActor who = CurrentAuditActor();
  return Write("set_journal_enabled", [&](sqlite::Connection& conn) -> Status {
    auto changed = ops::SetEnabled(conn, enabled, Now(), schema_version_);
    if (!changed.ok()) return changed.status();
    if (!*changed) return Status::OK();
    if (!enabled && journal_) journal_->SkipThisTransaction();
    util::Logger().info("change journal turned {} for '{}'", enabled ? "on" : "off", path_);
    return Audited(conn, who, {enabled ? "journal.enabled" : "journal.disabled", "journal", ""});
  });
}

Status StoreImpl::DoSetJournalRetention(const JournalRetention& retention) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(retention.max_age_us, 1, INT64_MAX, "max_age_us"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(retention.max_bytes, 1, INT64_MAX, "max_bytes"));
  const AuditActor who = CurrentAuditActor();
  return Write("set_journal_retention", [&](sqlite::Connection& conn) -> Status {
    CONVSTORE_RETURN_IF_ERROR(ops::SetRetention(conn, retention));
    util::JsonWriter w;
    w.BeginObject();
    if (retention.max_age_us) w.Key("max_age_us").Int(*retention.max_age_us);
    if (retention.max_bytes) w.Key("max_bytes").Int(*retention.max_bytes);
    w.EndObject();
    return Audited(conn, who, {"journal.retention_set", "journal", "", std::nullopt, w.Take()});
  });
}

Result<JournalPruneReport> StoreImpl::DoPruneJournal() { return PruneJournalBatches(nullptr, kPruneBatch, {}); }

Result<JournalPruneReport> StoreImpl::PruneJournalBatches(const JournalRetention* retention, int64_t batch_entries,
                                                          const std::function<void(int64_t removed, Micros took_us)>& after_batch) {
  // The horizon is found once (it reads the whole journal); each batch then only deletes.
  auto upto = Read("prune_journal", [&](sqlite::Connection& conn) -> Result<int64_t> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return ops::PruneHorizon(conn, Now(), retention);
  });
  if (!upto.ok()) return upto.status();
  JournalPruneReport report;
  const AuditActor who = CurrentAuditActor();
  for (bool more = true; more;) {
    JournalPruneReport batch;
    const auto started = std::chrono::steady_clock::now();
    auto result = Write("prune_journal", [&](sqlite::Connection& conn) -> Result<bool> {
      batch = JournalPruneReport{};  // a group commit may run the body again
      auto again = ops::PruneUpTo(conn, *upto, batch_entries, &batch);
      if (!again.ok() || batch.removed == 0) return again;
      const std::string details = util::JsonWriter().BeginObject().Key("removed").Int(batch.removed)
          .Key("bytes_removed").Int(batch.bytes_removed).Key("first_kept_seq").Int(batch.first_seq).EndObject().Take();
      CONVSTORE_RETURN_IF_ERROR(Audited(conn, who, {"journal.pruned", "journal", "", std::nullopt, details}));
      return again;
    });
    if (!result.ok()) return result.status();
    more = *result;
    report.removed += batch.removed;
    report.bytes_removed += batch.bytes_removed;
    report.first_seq = batch.first_seq;
    if (after_batch)
      after_batch(batch.removed, std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - started).count());
  }
  return report;
}

Status StoreImpl::DoSetJournalConsumer(std::string_view name, int64_t seq) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(name, "consumer name"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(seq, 0, INT64_MAX, "seq"));
  return Write("set_journal_consumer", [&](sqlite::Connection& conn) -> Status {
    auto last = ops::LastSeq(conn);
    if (!last.ok()) return last.status();
    if (seq > *last)
      return Status::InvalidArgument(fmt::format("seq {} is beyond the journal's last entry ({})", seq, *last));
    return ops::SetConsumer(conn, name, seq, Now());
  });
}

Status StoreImpl::DoRemoveJournalConsumer(std::string_view name) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(name, "consumer name"));
  return Write("remove_journal_consumer",
               [&](sqlite::Connection& conn) -> Status { return ops::RemoveConsumer(conn, name); });
}

}  // namespace convstore::api
