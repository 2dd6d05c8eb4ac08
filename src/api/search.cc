// Full-text search (convstore/search.h): the search on a reader after the tail is indexed, the index's
// administration, and the background indexer every read-write handle runs.
//
// The indexer wakes every kIndexerIntervalUs; when rows wait in the tail it indexes them in write transactions of
// kCatchUpStepRows rows each (so a writer waits at most one step), and when removed text waits for a purge it runs
// the purge's merge steps, each its own transaction, between which the other writes go ahead.
#include <fmt/format.h>

#include "api/store_impl.h"
#include "api/search_filter.h"
#include "metadata/filter.h"
#include "search/text_index.h"
#include "search/text_search.h"
#include "util/json_writer.h"
#include "util/logging.h"

namespace convstore::api {

namespace {

constexpr Micros kIndexerIntervalUs = 100'000;
// Rows per transaction when a caller waits for the whole tail (a search, CatchUp, a rebuild).
constexpr int64_t kCatchUpBatchRows = 4096;

}  // namespace

Result<int64_t> StoreImpl::IndexTextTail(int64_t step_rows, const char* operation, const Progress* progress) {
  int64_t done = 0;
  for (TextSearchTarget target : search::kTargets) {
    // Looked for on a reader first: an idle store's indexer takes no write lock.
    auto waiting = Read(operation, [&](sqlite::Connection& conn) { return search::HasPending(conn, target); });
    if (!waiting.ok()) return waiting.status();
    if (!*waiting) continue;
    for (;;) {
      auto step = WriteAlone(operation, [&](sqlite::Connection& conn) { return search::CatchUp(conn, target, step_rows); });
      if (!step.ok()) return step.status();
      done += *step;
      if (*step > 0 && progress && options_.on_progress) {
        util::ParkedScope in_user_code;  // a fork need not wait for the callback (util/fork.h)
        options_.on_progress(Progress{progress->operation, done, progress->total});
      }
      // A step short of its size reached the end of the tail: rows committed since wait for the next call (were
      // they chased, a writer adding one row at a time would meet an indexing transaction after each).
      if (*step < step_rows) break;
    }
  }
  return done;
}

Result<int64_t> StoreImpl::PurgeText(const char* operation, bool only_if_pending) {
  int64_t steps = 0;
  for (TextSearchTarget target : search::kTargets) {
    if (only_if_pending) {
      auto pending = Read(operation, [&](sqlite::Connection& conn) { return search::PurgePending(conn, target); });
      if (!pending.ok()) return pending.status();
      if (!*pending) continue;
    }
    for (;;) {
      auto finished = WriteAlone(operation, [&](sqlite::Connection& conn) { return search::PurgeStep(conn, target); });
      if (!finished.ok()) return finished.status();
      ++steps;
      if (*finished) break;
      if (closed()) return Status::Closed();
    }
  }
  return steps;
}

Status CompileMetadata(const SearchFilter& f, std::optional<metadata::CompiledFilter>& compiled,
                       search::RowPredicate& predicate) {
  if (f.metadata_contains_json.empty() && f.metadata_where_json.empty()) return Status::OK();
  auto c = metadata::CompileFilter(f.metadata_contains_json, f.metadata_where_json);
  if (!c.ok()) return c.status();
  compiled = std::move(*c);
  predicate = [&compiled](std::string_view document) { return compiled->MatchesText(document); };
  return Status::OK();
}

Result<TextSearchResult> StoreImpl::DoSearchText(const TextSearchQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(search::ValidateQuery(query));
  std::optional<metadata::CompiledFilter> compiled;
  search::RowPredicate predicate;
  CONVSTORE_RETURN_IF_ERROR(CompileMetadata(query.filter, compiled, predicate));
  if (query.wait_for_index && !options_.read_only) {
    auto indexed = IndexTextTail(kCatchUpBatchRows, "search_text", nullptr);
    if (!indexed.ok()) return indexed.status();
  }
  return Read("search_text", [&](sqlite::Connection& conn) -> Result<TextSearchResult> {
    auto txn = sqlite::ReadTransaction::Begin(conn);  // the index, the tail's size and the rows from one snapshot
    if (!txn.ok()) return txn.status();
    return search::SearchText(conn, query, predicate);
  });
}

Result<SearchIndexStatus> StoreImpl::DoGetSearchStatus() {
  return Read("get_search_status", [&](sqlite::Connection& conn) -> Result<SearchIndexStatus> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return search::IndexStatus(conn);
  });
}

Result<SearchIndexReport> StoreImpl::SearchReport(SearchIndexReport report) {
  auto status = DoGetSearchStatus();
  if (!status.ok()) return status.status();
  report.status = std::move(*status);
  return report;
}

Result<SearchIndexReport> StoreImpl::DoCatchUpSearchIndex() {
  if (options_.read_only) return Status::ReadOnly("catch_up_search_index: the store was opened read-only");
  SearchIndexReport report;
  auto indexed = IndexTextTail(kCatchUpBatchRows, "catch_up_search_index", nullptr);
  if (!indexed.ok()) return indexed.status();
  report.rows_indexed = *indexed;
  return SearchReport(std::move(report));
}

Result<SearchIndexReport> StoreImpl::DoPurgeSearchIndex() {
  if (options_.read_only) return Status::ReadOnly("purge_search_index: the store was opened read-only");
  SearchIndexReport report;
  auto steps = PurgeText("purge_search_index", /*only_if_pending=*/false);
  if (!steps.ok()) return steps.status();
  report.purge_steps = *steps;
  return SearchReport(std::move(report));
}

Result<SearchIndexReport> StoreImpl::ResetSearchIndex(std::optional<TextTokenizer> tokenizer, const char* operation) {
  if (options_.read_only) return Status::ReadOnly(std::string(operation) + ": the store was opened read-only");
  const AuditActor who = CurrentAuditActor();
  int64_t total = 0;
  auto reset = WriteAlone(operation, [&](sqlite::Connection& conn) -> Status {
    auto current = search::LoadTokenizer(conn);
    if (!current.ok()) return current.status();
    const TextTokenizer use = tokenizer.value_or(*current);
    CONVSTORE_RETURN_IF_ERROR(search::Reset(conn, use, /*index_now=*/false, nullptr));
    total = 0;
    for (TextSearchTarget target : search::kTargets) {
      auto n = search::Pending(conn, target);
      if (!n.ok()) return n.status();
      total += *n;
    }
    // A rebuild changes no data (as a rollup or metadata index rebuild, it is not audited); choosing the tokenizer
    // is the file's configuration, audited.
    if (!tokenizer) return Status::OK();
    util::JsonWriter w;
    w.BeginObject().Key("tokenizer").String(TextTokenizerName(use)).EndObject();
    return Audited(conn, who, {"search.tokenizer_set", "search_index", "", std::nullopt, w.Take()});
  });
  if (!reset.ok()) return reset;
  SearchIndexReport report;
  Progress progress{operation, 0, total};
  auto indexed = IndexTextTail(kCatchUpBatchRows, operation, &progress);
  if (!indexed.ok()) return indexed.status();
  // Every row the reset left to index, this call's steps and any the background indexer took meanwhile.
  report.rows_indexed = total;
  return SearchReport(std::move(report));
}

Result<SearchIndexReport> StoreImpl::DoRebuildSearchIndex() {
  return ResetSearchIndex(std::nullopt, "rebuild_search_index");
}

Result<SearchIndexReport> StoreImpl::DoSetTextTokenizer(TextTokenizer tokenizer) {
  if (tokenizer != TextTokenizer::kWords && tokenizer != TextTokenizer::kTrigram && tokenizer != TextTokenizer::kNone)
    return Status::InvalidArgument("unknown tokenizer");
  return ResetSearchIndex(tokenizer, "set_text_tokenizer");
}

Result<SearchIndexReport> StoreImpl::DoVerifySearchIndex() {
  // FTS5's integrity check is an INSERT command (it writes nothing): it runs in a transaction of the writer.
  if (options_.read_only) return Status::ReadOnly("verify_search_index: the store was opened read-only");
  SearchIndexReport report;
  auto indexed = IndexTextTail(kCatchUpBatchRows, "verify_search_index", nullptr);
  if (!indexed.ok()) return indexed.status();
  report.rows_indexed = *indexed;
  auto problems = WriteAlone("verify_search_index", [&](sqlite::Connection& conn) { return search::Verify(conn); });
  if (!problems.ok()) return problems.status();
  report.problems = std::move(*problems);
  report.ok = report.problems.empty();
  return SearchReport(std::move(report));
}

Status StoreImpl::DoSetBackgroundIndexing(bool enabled) {
  if (options_.read_only) return Status::ReadOnly("set_background_indexing: the store was opened read-only");
  background_indexing_.store(enabled);
  if (enabled) StartTextIndexer();
  return Status::OK();
}

void StoreImpl::StartTextIndexer() {
  if (options_.read_only || !background_indexing_.load()) return;
  std::lock_guard lock(indexer_mu_);
  if (text_indexer_) return;
  // The first run one interval after the open, so a caller may turn it off before it ever runs.
  text_indexer_ = std::make_unique<PeriodicTask>(kIndexerIntervalUs, [this] {
    if (!background_indexing_.load()) return;
    auto ran = Guarded([&]() -> Status {
      auto indexed = IndexTextTail(search::kCatchUpStepRows, "text_indexer", nullptr);
      if (!indexed.ok()) return indexed.status();
      auto purged = PurgeText("text_indexer", /*only_if_pending=*/true);
      return purged.ok() ? Status::OK() : purged.status();
    });
    if (!ran.ok() && ran.code() != Code::kClosed && ran.code() != Code::kBusy)
      util::Logger().warn("the full-text indexer failed (it tries again): {}", ran.ToString());
  }, /*start_at_once=*/false);
}

void StoreImpl::StopTextIndexer() {
  if (util::ForkGeneration() != fork_generation_) {
    (void)text_indexer_.release();  // the parent's thread: not in this process
    return;
  }
  std::unique_lock lock(indexer_mu_, std::defer_lock);
  util::LockParked(lock);
  if (text_indexer_) {
    util::ParkedScope parked;
    text_indexer_->Stop();
  }
  text_indexer_.reset();
}

}  // namespace convstore::api
