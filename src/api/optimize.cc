// Maintenance (Operations::Optimize): planner statistics, free pages given back, the WAL checkpointed and emptied,
// and on request a full VACUUM with progress. Runs on a connection of its own (the writer, in an exclusive open),
// outside any transaction (VACUUM and checkpoints cannot run inside one), holding this handle's write mutex so its
// own writes wait rather than fail.
#include <sys/stat.h>

#include <chrono>

#include "api/store_impl.h"
#include "ops/maintenance.h"

namespace convstore::api {

namespace {

// The database file and its WAL.
int64_t FileBytes(const std::string& path) {
  int64_t total = 0;
  for (const std::string& p : {path, path + "-wal"}) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) total += static_cast<int64_t>(st.st_size);
  }
  return total;
}

}  // namespace

Result<OptimizeReport> StoreImpl::DoOptimize(const OptimizeOptions& options) {
  if (path_ == ConversationStore::kInMemory) return Status::InvalidArgument("optimize: an in-memory store has no file");
  if (options_.read_only) return Status::ReadOnly("optimize: the store was opened read-only");
  std::shared_lock life(lifecycle_, std::defer_lock);
  util::LockParked(life);
  CONVSTORE_RETURN_IF_ERROR(CheckUsable());
  const auto started = std::chrono::steady_clock::now();
  std::unique_lock lock(write_mu_, std::defer_lock);
  util::LockParked(lock);

  // A connection of its own (the writer's observers stay out of the maintenance), unless the writer is the only
  // one the file may have (an exclusive open): it is idle while the write mutex is held.
  std::unique_ptr<sqlite::Connection> own;
  if (!one_connection()) {
    sqlite::ConnectionConfig config;
    config.busy_timeout_ms = options_.busy_timeout_ms;
    auto opened = sqlite::Connection::Open(path_, config);
    if (!opened.ok()) return opened.status();
    own = std::move(*opened);
  }
  sqlite::Connection* conn = own ? own.get() : writer_.get();
  auto before = ops::ReadFileFacts(*conn);
  if (!before.ok()) return before.status();
  OptimizeReport report;
  report.bytes_before = FileBytes(path_);
  report.free_pages_before = before->free_pages;
  if (options.vacuum) {
    std::function<void(int64_t, int64_t)> progress;
    if (options.on_progress)
      progress = [&](int64_t done, int64_t total) {
        util::ParkedScope in_user_code;  // a fork need not wait for the callback (util/fork.h)
        options.on_progress(Progress{"optimize: vacuum", done, total});
      };
    CONVSTORE_RETURN_IF_ERROR(ops::FullVacuum(*conn, progress));
    report.vacuumed = true;
  }
  auto released = ops::IncrementalVacuum(*conn);
  if (!released.ok()) return released.status();
  report.pages_released = *released;
  CONVSTORE_RETURN_IF_ERROR(ops::AnalyzeForPlanner(*conn));
  auto frames = ops::CheckpointWal(*conn, &report.wal_truncated);
  if (!frames.ok()) return frames.status();
  report.wal_frames_checkpointed = *frames;
  CountCheckpoint();
  auto after = ops::ReadFileFacts(*conn);
  if (!after.ok()) return after.status();
  report.free_pages_after = after->free_pages;
  report.auto_vacuum = after->auto_vacuum;
  report.bytes_after = FileBytes(path_);
  report.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  util::Logger().info("optimized '{}': {} -> {} bytes, {} pages released{}", path_, report.bytes_before,
                      report.bytes_after, report.pages_released, report.vacuumed ? ", vacuumed" : "");
  return report;
}

}  // namespace convstore::api
