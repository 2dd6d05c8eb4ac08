// An archiver's hold on an archive directory between rounds (StoreImpl::DoArchiveRound does the rounds):
// the checked options, the key, the directory lock and the name of the journal consumer that keeps the entries
// not yet shipped. And the background thread of in-process archiving.
//
// An ArchiveSession is used by one round at a time (the background thread, or the caller of ArchiveNow).
// BackgroundArchiver is thread-safe; it owns its thread and joins it in Stop or its destructor.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "convstore/ops.h"
#include "ops/archive_dir.h"
#include "ops/file_cipher.h"
#include "util/directory.h"

namespace convstore::api {

// The journal consumer an archive ships through: "archive:" + its absolute directory, or "archive:sha256:" + the
// directory's digest when that would pass 256 bytes (consumer names' limit).
std::string ArchiveConsumerName(const std::string& absolute_directory);
// The directory a consumer name is for; nullopt for another consumer, or one named by a digest.
std::optional<std::string> ArchiveDirectoryOf(std::string_view consumer);
// Whether a consumer name is an archive's (either form).
bool IsArchiveConsumer(std::string_view consumer);

struct ArchiveSession {
  ArchiveOptions options;
  std::string directory;              // absolute
  std::optional<ops::CipherKey> key;
  util::DirectoryLock lock;
  std::string consumer;               // the journal consumer's name: "archive:" + the directory
  bool leftovers_removed = false;

  // The generation being written, as the last round left it. Only the lock holder writes the directory, so rounds
  // after the first need not list it; a failed round forgets it, and the next one lists again.
  struct Generation {
    std::string id;
    int64_t shipped_seq = 0;    // the end of its gap-free segments (where shipping continues)
    Micros shipped_at = 0;      // that entry's commit time
    Micros newest_base_at = 0;  // when its newest base backup was taken
  };
  std::optional<Generation> generation{};
  std::optional<Micros> last_prune{};  // when a round last applied the retention

  // Checks the options, creates or opens the archive and locks it.
  static Result<std::unique_ptr<ArchiveSession>> Open(const ArchiveOptions& options, Micros now);
};

// Adds `round` to `totals` (counts summed, the position taken from the round).
void AddRound(const ArchiveReport& round, ArchiveReport* totals);

class BackgroundArchiver {
 public:
  // Calls round() on its own thread until Stop, spaced so that a commit is shipped within `interval_us` (rounds
  // start every interval minus the last round's duration).
  BackgroundArchiver(std::string directory, int64_t interval_us, std::function<Result<ArchiveReport>()> round);
  ~BackgroundArchiver();
  BackgroundArchiver(const BackgroundArchiver&) = delete;
  BackgroundArchiver& operator=(const BackgroundArchiver&) = delete;

  // Stops the thread (waiting for a round in progress) and joins it. Idempotent.
  void Stop();
  ArchivingStatus Status() const;
  // Records a round run outside the thread (StopArchiving's last one).
  void Record(const Result<ArchiveReport>& round);

 private:
  void Run();

  const int64_t interval_us_;
  const std::function<Result<ArchiveReport>()> round_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  ArchivingStatus status_;
  std::thread thread_;  // last: starts once the rest is set up
};

}  // namespace convstore::api
