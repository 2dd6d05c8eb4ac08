#include "ops/maintenance.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>

#include "sqlite/checkpointer.h"
#include "sqlite/error.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

// SQLite virtual-machine steps per page a VACUUM copies, roughly (measured on convstore files: 2,000-5,000).
constexpr int64_t kStepsPerPage = 4000;
constexpr int kStepsPerCallback = 10000;

struct VacuumProgress {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t total;
  int64_t steps = 0;
};

int OnSteps(void* arg) {
  auto* p = static_cast<VacuumProgress*>(arg);
  p->steps += kStepsPerCallback;
  if (*p->fn) (*p->fn)(std::min(p->steps, p->total - 1), p->total);
  return 0;
}

}  // namespace

Result<FileFacts> ReadFileFacts(sqlite::Connection& conn) {
  FileFacts f;
  auto size = conn.QueryInt("PRAGMA page_size", "read the page size");
  if (!size.ok()) return size.status();
  auto pages = conn.QueryInt("PRAGMA page_count", "read the page count");
  if (!pages.ok()) return pages.status();
  auto free_pages = conn.QueryInt("PRAGMA freelist_count", "read the free pages");
  if (!free_pages.ok()) return free_pages.status();
  auto mode = conn.QueryInt("PRAGMA auto_vacuum", "read the auto-vacuum mode");
  if (!mode.ok()) return mode.status();
  f.page_size = size->value_or(0);
  f.page_count = pages->value_or(0);
  f.free_pages = free_pages->value_or(0);
  const int64_t m = mode->value_or(0);
  f.auto_vacuum = m == 1 ? "full" : m == 2 ? "incremental" : "none";
  return f;
}

Result<std::vector<std::string>> QuickCheckProblems(sqlite::Connection& conn) {
  auto st = conn.Prepare("PRAGMA quick_check(10)");
  if (!st.ok()) return st.status();
  std::vector<std::string> problems;
  for (;;) {
    auto row = st->Step("quick_check");
    if (!row.ok() && row.status().code() != Code::kCorruption) return row.status();  // out of memory, I/O, busy
    if (!row.ok()) return Status::Corruption("quick_check could not read the file: " + row.status().message());
    if (!*row) break;
    if (st->Text(0) != "ok") problems.emplace_back(st->Text(0));
  }
  return problems;
}

Result<int64_t> IncrementalVacuum(sqlite::Connection& conn) {
  auto before = ReadFileFacts(conn);
  if (!before.ok()) return before.status();
  if (before->auto_vacuum != "incremental" || before->free_pages == 0) return int64_t{0};
  // Its result rows (none) are stepped to the end by Exec; each step frees pages.
  CONVSTORE_RETURN_IF_ERROR(conn.Exec("PRAGMA incremental_vacuum", "give free pages back"));
  auto after = ReadFileFacts(conn);
  if (!after.ok()) return after.status();
  return before->free_pages - after->free_pages;
}

Status FullVacuum(sqlite::Connection& conn, const std::function<void(int64_t, int64_t)>& progress) {
  auto facts = ReadFileFacts(conn);
  if (!facts.ok()) return facts.status();
  CONVSTORE_RETURN_IF_ERROR(conn.Exec("PRAGMA auto_vacuum=INCREMENTAL", "set incremental auto-vacuum"));
  VacuumProgress p{&progress, std::max<int64_t>(1, facts->page_count * kStepsPerPage)};
  if (progress) progress(0, p.total);
  sqlite3_progress_handler(conn.raw(), kStepsPerCallback, &OnSteps, &p);
  Status s = conn.Exec("VACUUM", "vacuum");
  sqlite3_progress_handler(conn.raw(), 0, nullptr, nullptr);
  CONVSTORE_RETURN_IF_ERROR(s);
  if (progress) progress(p.total, p.total);
  return Status::OK();
}

Status AnalyzeForPlanner(sqlite::Connection& conn) {
  return conn.Exec("PRAGMA analysis_limit=1000; PRAGMA optimize", "update the planner's statistics");
}

Result<int64_t> CheckpointWal(sqlite::Connection& conn, bool* truncated) {
  *truncated = false;
  // Another connection's checkpoint (the store's background checkpointer, another process's) may hold the
  // checkpoint lock: each step tries again for as long as the connection would wait for any other lock.
  const std::chrono::milliseconds wait(conn.busy_timeout_ms());
  // First what can be copied without waiting for readers (the count of frames), then an attempt to empty the WAL,
  // which needs every reader to be past it.
  int log = 0, copied = 0;
  int rc = sqlite::CheckpointRetrying(conn.raw(), "main", SQLITE_CHECKPOINT_PASSIVE, wait, &log, &copied);
  if (rc != SQLITE_OK && (rc & 0xFF) != SQLITE_BUSY) return sqlite::FromSqlite(rc, conn.raw(), "checkpoint the WAL");
  const int64_t frames = std::max(copied, 0);
  rc = sqlite::CheckpointRetrying(conn.raw(), "main", SQLITE_CHECKPOINT_TRUNCATE, wait, &log, &copied);
  if (rc == SQLITE_OK) *truncated = log == 0;
  else if ((rc & 0xFF) != SQLITE_BUSY) return sqlite::FromSqlite(rc, conn.raw(), "truncate the WAL");
  return frames;
}

Result<int64_t> CheckpointPassive(sqlite::Connection& conn) {
  int log = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(conn.raw(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) return sqlite::FromSqlite(rc, conn.raw(), "checkpoint the WAL");
  return int64_t{std::max(copied, 0)};
}

}  // namespace convstore::ops
