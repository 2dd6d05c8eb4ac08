#include "sqlite/checkpointer.h"

#include <sqlite3.h>

#include <algorithm>

#include "util/fork.h"
#include "util/logging.h"

namespace convstore::sqlite {

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path, ConnectionConfig config,
                                                          HoldWriter hold_writer) {
  config.create = false;
  config.read_only = false;
  config.open_read_only = false;
  config.cache_kib = 256;  // it reads nothing through the cache: a checkpoint copies frames with its own buffer
  auto conn = Connection::Open(path, config);  // with the store's busy timeout: opening may wait for a lock
  if (!conn.ok()) return conn.status();
  // Its checkpoints never wait inside SQLite: one that finds a lock taken returns at once (it would otherwise wait
  // holding the WAL's write lock, which another process's writer wants too, and a fork would have to wait for).
  (*conn)->SetBusyTimeout(0);
  try {
    return std::unique_ptr<Checkpointer>(new Checkpointer(std::move(*conn), std::move(hold_writer)));
  } catch (const std::exception& e) {  // the thread could not start (or out of memory)
    return Status::Internal(std::string("could not start the background checkpointer: ") + e.what());
  }
}

Checkpointer::Checkpointer(std::unique_ptr<Connection> conn, HoldWriter hold_writer)
    : conn_(std::move(conn)), hold_writer_(std::move(hold_writer)) {
  thread_ = std::thread([this] { Loop(); });
}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Committed(int frames) noexcept {
  frames_.store(frames, std::memory_order_relaxed);
  if (frames < kRequestFrames) return;
  {
    std::lock_guard lock(mu_);
    if (requested_) return;
    requested_ = true;
  }
  wake_.notify_one();
}

void Checkpointer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Checkpointer::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return requested_ || stop_; });
    if (stop_) return;
    lock.unlock();
    const bool done = Cycle();
    lock.lock();
    // Requests made while the cycle ran are answered by it (or by the next commit past the threshold).
    requested_ = false;
    if (!done) wake_.wait_for(lock, std::chrono::milliseconds(kPinnedRetryMs), [this] { return stop_; });
  }
}

bool Checkpointer::Cycle() {
  // Inside SQLite as any call is: a fork waits for the cycle to leave (util/fork.h).
  util::CallScope in_call;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    int log = 0, copied = 0;
    if (!Checkpoint(SQLITE_CHECKPOINT_PASSIVE, &log, &copied)) return false;
    if (log < 0) return false;  // not a WAL database (any more): nothing to do
    // A reader may have kept this pass from copying everything; the last copy waits for it.
    const int behind = frames_.load(std::memory_order_relaxed) - log;  // committed while this pass ran
    if (behind <= kFinishFrames) break;
  }
  // The last copy with the writer held back: RESTART copies what is left, then waits (ReaderWaitMs at most) until
  // every reader reads from the database file alone, so the writer's next transaction starts the WAL again. After
  // one that a reader outlasted, the next waits until the WAL has grown by another kRequestFrames: a read longer
  // than the wait holds the writer back once per cycle at most, not at every request.
  if (frames_.load(std::memory_order_relaxed) < hold_from_frames_) return true;
  bool restarted = false;
  const auto wait = std::chrono::milliseconds(ReaderWaitMs(frames_.load(std::memory_order_relaxed)));
  hold_writer_([&] { restarted = RestartWithin(wait); });
  hold_from_frames_ = restarted ? 0 : frames_.load(std::memory_order_relaxed) + kRequestFrames;
  return restarted;
}

int Checkpointer::ReaderWaitMs(int frames) noexcept {
  int wait = kReaderWaitMs;  // doubled for every kRequestFrames past the first
  for (int past = frames / kRequestFrames - 1; past > 0 && wait < kMaxReaderWaitMs; --past) wait *= 2;
  return std::min(wait, kMaxReaderWaitMs);
}

int CheckpointRetrying(sqlite3* db, const char* schema, int mode, std::chrono::milliseconds wait, int* log,
                       int* copied) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const int rc = sqlite3_wal_checkpoint_v2(db, schema, mode, log, copied);
    if ((rc & 0xFF) != SQLITE_BUSY && (rc & 0xFF) != SQLITE_LOCKED) return rc;
    if (std::chrono::steady_clock::now() >= deadline) return rc;
    util::ParkedScope between_tries;  // holding nothing of SQLite's: a fork need not wait (util/fork.h)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int RestartCheckpoint(sqlite3* db, const char* schema, std::chrono::milliseconds wait, bool* restarted) {
  // Each try takes the WAL's write lock, copies what is left and, when no reader still reads from the WAL, marks it
  // to start again — or finds a reader (or another process's writer) and returns at once.
  int log = 0, copied = 0;
  const int rc = CheckpointRetrying(db, schema, SQLITE_CHECKPOINT_RESTART, wait, &log, &copied);
  *restarted = rc == SQLITE_OK && log >= 0 && copied == log;
  return rc;
}

bool Checkpointer::RestartWithin(std::chrono::milliseconds wait) {
  bool restarted = false;
  const int rc = RestartCheckpoint(conn_->raw(), "main", wait, &restarted);
  runs_.fetch_add(1, std::memory_order_relaxed);
  return Noted(rc) && restarted;
}

bool Checkpointer::Checkpoint(int mode, int* log, int* copied) {
  const int rc = sqlite3_wal_checkpoint_v2(conn_->raw(), "main", mode, log, copied);
  runs_.fetch_add(1, std::memory_order_relaxed);
  return Noted(rc);
}

bool Checkpointer::Noted(int rc) {
  if (rc == SQLITE_OK) {
    failing_ = false;
    return true;
  }
  // Busy: a reader did not leave within the wait, or another connection's checkpoint or writer holds the lock.
  // Not a failure: the frames wait in the WAL for the next cycle.
  if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED) return false;
  if (!failing_)
    util::Logger().warn("a background WAL checkpoint failed (a later commit asks again): {} (sqlite code {})",
                        sqlite3_errmsg(conn_->raw()), rc);
  failing_ = true;
  return false;
}

}  // namespace convstore::sqlite
