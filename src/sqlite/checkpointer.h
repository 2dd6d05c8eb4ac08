// Checkpointer: runs a WAL database's checkpoints on a thread and a connection of its own, so that no commit pays
// for one.
//
// The writer connection's commit hook (Connection::SetCheckpointer) tells it how many frames each commit left in the
// WAL; from kRequestFrames on, the thread wakes. It copies the WAL into the database file in PASSIVE checkpoints,
// which take no lock a reader or the writer waits for, until the writer's commits since the last one began are few
// (kFinishFrames); then, with the writer held back (`hold_writer`, the store's write mutex), one RESTART checkpoint
// copies those and waits (briefly) for readers to leave the WAL, so the writer's next transaction starts the WAL
// again from its beginning. The writer is held for one short copy and one sync, once per cycle of the WAL
// (kRequestFrames frames, about 16 MiB) — and, when a read of this process is under way, until that read ends
// (ReaderWaitMs at most: longer the further the WAL has grown) — instead of every caller whose commit crosses the
// threshold paying a whole checkpoint.
// A reader that keeps an old snapshot longer (a long read in another process) stops the cycle short: the thread
// tries again at the next commit past the threshold, at most every kPinnedRetryMs; the WAL grows meanwhile and the
// store's health reports its size. Should the thread fall behind, the commit hook runs the last copy itself once
// the WAL reaches Connection::kInlineCheckpointFrames: the committing thread is the writer, so the WAL cannot grow
// while it copies and waits for readers (the bound of last resort; Connection::EnableWal).
//
// A failed checkpoint (an I/O error, the disk full) loses nothing: the frames stay in the WAL, where readers find
// them, and the next commit past the threshold asks again; the first failure of a streak is logged.
//
// Thread-safe. Owns its thread and its connection; Stop (or the destructor) waits for a checkpoint in progress.
// Committed never blocks (it runs inside the writer's commit).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::sqlite {

// Checkpoints of `db`'s `schema` in `mode`, one a millisecond, until one does not come back busy (or locked) or
// `wait` passes; the last try's SQLite code, with its WAL frames and frames copied in *log and *copied. SQLite
// answers busy at once, without the busy handler, while another connection's checkpoint holds the checkpoint lock;
// a try waits for readers only as long as `db`'s busy handler does. Between tries nothing of SQLite's is held, so
// another process's writer is never held up by the wait. Any thread owning `db`.
int CheckpointRetrying(sqlite3* db, const char* schema, int mode, std::chrono::milliseconds wait, int* log,
                       int* copied);

// CheckpointRetrying in RESTART mode; *restarted: the WAL starts again. `db`'s busy handler must not wait (each try
// returns at once); the caller holds this process's writer back.
int RestartCheckpoint(sqlite3* db, const char* schema, std::chrono::milliseconds wait, bool* restarted);

class Checkpointer {
 public:
  // A commit leaving this many frames (about 16 MiB of 4 KiB pages) wakes the thread.
  static constexpr int kRequestFrames = 4000;
  // The last copy, with the writer held back, once no more frames than this were committed during the one before.
  static constexpr int kFinishFrames = 256;
  // The most PASSIVE passes before the last copy, however many frames the writer adds meanwhile.
  static constexpr int kMaxPasses = 4;
  // After a checkpoint a reader stopped short (or that failed), the next one waits at least this long.
  static constexpr int kPinnedRetryMs = 100;
  // How long the last copy waits for readers that began before it to finish (trying again every millisecond,
  // holding no SQLite lock between tries): reads that begin meanwhile read from the database file and do not
  // hold it up. The wait grows with the WAL — kReaderWaitMs, doubled for every kRequestFrames in it past
  // the first, at most kMaxReaderWaitMs — so a read longer than the first wait (a whole long conversation on a slow or busy machine)
  // holds the WAL back for a cycle or two, not for good: the writer waits longer the further the WAL has grown.
  static constexpr int kReaderWaitMs = 250;
  static constexpr int kMaxReaderWaitMs = 2000;
  static int ReaderWaitMs(int frames) noexcept;

  // Runs fn with the writer held back (no write transaction of this process begins or commits while it runs).
  using HoldWriter = std::function<void(const std::function<void()>& fn)>;

  // Opens its own connection to `path` (a WAL database) with `config` and starts the thread.
  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path, ConnectionConfig config,
                                                     HoldWriter hold_writer);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Called after each commit on the writer with the frames now in the WAL; wakes the thread from kRequestFrames on
  // (several commits before it wakes make one request). Never blocks for long: a mutex held for a few instructions.
  void Committed(int frames) noexcept;
  // Stops the thread, after the checkpoint in progress if any. Idempotent.
  void Stop();

  // The checkpoints run (each pass and each last copy, whatever they could copy) since the last call (then
  // zeroed). Any thread.
  int64_t TakeRuns() noexcept { return runs_.exchange(0, std::memory_order_relaxed); }

 private:
  Checkpointer(std::unique_ptr<Connection> conn, HoldWriter hold_writer);
  void Loop();
  // One cycle: passes, then the last copy. False when it stopped short (a reader, a failure, another checkpoint).
  bool Cycle();
  // RestartCheckpoint on the thread's connection, counted and noted. The caller holds the writer back.
  bool RestartWithin(std::chrono::milliseconds wait);
  // One checkpoint; false when it did not run whole (busy, or failed: logged once per streak).
  bool Checkpoint(int mode, int* log, int* copied);
  // A checkpoint's SQLite code noted: true for OK; a failure other than busy is logged once per streak.
  bool Noted(int rc);

  std::unique_ptr<Connection> conn_;  // used by the thread only
  const HoldWriter hold_writer_;
  std::atomic<int> frames_{0};  // frames in the WAL after the writer's last commit
  std::mutex mu_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stop_ = false;
  bool failing_ = false;     // the thread's: the last checkpoint failed
  int hold_from_frames_ = 0;  // the thread's: no last copy before the WAL holds this many frames
  std::atomic<int64_t> runs_{0};
  std::thread thread_;  // last: starts once the rest is set up
};

}  // namespace convstore::sqlite
