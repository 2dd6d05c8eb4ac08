#include "api/archive_session.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/format.h>

#include "api/file_operations.h"
#include "ops/sha256.h"
#include "util/logging.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::api {

namespace {

constexpr int64_t kHourUs = 3'600'000'000;

}  // namespace

Result<std::unique_ptr<ArchiveSession>> ArchiveSession::Open(const ArchiveOptions& options, Micros now) {
  CONVSTORE_RETURN_IF_ERROR(CheckFileArgument(options.directory, "archive directory"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(options.interval_us, 1000, kHourUs, "interval_us"));
  CONVSTORE_RETURN_IF_ERROR(
      util::CheckRange(options.base_backup_interval_us, 1'000'000, INT64_MAX, "base_backup_interval_us"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(options.keep_us, 1, INT64_MAX, "keep_us"));
  auto key = KeyOf(options.encryption_key_hex);
  if (!key.ok()) return key.status();
  auto facts = ops::OpenOrCreateArchive(options.directory, key->has_value(), now);
  if (!facts.ok()) return facts.status();
  auto absolute = util::AbsolutePath(options.directory);
  if (!absolute.ok()) return absolute.status();
  auto lock = ops::LockArchive(*absolute);
  if (!lock.ok()) return lock.status();
  auto session = std::unique_ptr<ArchiveSession>(
      new ArchiveSession{options, *absolute, *key, std::move(*lock), "", false, std::nullopt, std::nullopt});
  session->consumer = ArchiveConsumerName(*absolute);
  return session;
}

namespace {
constexpr std::string_view kConsumerPrefix = "archive:";
constexpr std::string_view kDigestPrefix = "archive:sha256:";
}  // namespace

std::string ArchiveConsumerName(const std::string& absolute_directory) {
  std::string name = std::string(kConsumerPrefix) + absolute_directory;
  if (name.size() > 256) name = std::string(kDigestPrefix) + ops::Sha256Hex(absolute_directory);
  return name;
}

std::optional<std::string> ArchiveDirectoryOf(std::string_view consumer) {
  if (consumer.rfind(kConsumerPrefix, 0) != 0 || consumer.rfind(kDigestPrefix, 0) == 0) return std::nullopt;
  return std::string(consumer.substr(kConsumerPrefix.size()));
}

bool IsArchiveConsumer(std::string_view consumer) { return consumer.rfind(kConsumerPrefix, 0) == 0; }

void AddRound(const ArchiveReport& r, ArchiveReport* t) {
  t->generation = r.generation;
  t->new_generation = t->new_generation || r.new_generation;
  t->base_backup_taken = t->base_backup_taken || r.base_backup_taken;
  t->entries_shipped += r.entries_shipped;
  t->segments_written += r.segments_written;
  t->bytes_written += r.bytes_written;
  t->files_removed += r.files_removed;
  t->archived_seq = r.archived_seq;
  t->archived_at = r.archived_at;
}

BackgroundArchiver::BackgroundArchiver(std::string directory, int64_t interval_us,
                                       std::function<Result<ArchiveReport>()> round)
    : interval_us_(interval_us), round_(std::move(round)) {
  status_.running = true;
  status_.directory = std::move(directory);
  thread_ = std::thread([this] { Run(); });
}

BackgroundArchiver::~BackgroundArchiver() { Stop(); }

void BackgroundArchiver::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    status_.running = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ArchivingStatus BackgroundArchiver::Status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void BackgroundArchiver::Record(const Result<ArchiveReport>& round) {
  std::lock_guard lock(mu_);
  ++status_.rounds;
  if (round.ok()) {
    status_.last_error.clear();
    AddRound(*round, &status_.totals);
  } else {
    ++status_.failed_rounds;
    status_.last_error = round.status().ToString();
  }
}

void BackgroundArchiver::Run() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  std::array<Clock::duration, 8> recent{};  // the last rounds' durations
  size_t rounds = 0;
  while (!stop_) {
    lock.unlock();
    const auto started = Clock::now();
    auto round = round_();
    const auto took = Clock::now() - started;
    recent[rounds++ % recent.size()] = took;
    if (!round.ok() && round.status().code() != Code::kClosed)
      util::Logger().error("archiving into '{}' failed (next try in {} ms): {}", status_.directory,
                           interval_us_ / 1000, round.status().ToString());
    Record(round);
    lock.lock();
    // A commit is shipped within the interval: one made just after this round read the journal waits for the
    // next round to start and finish. So the next round starts early by the longest of the recent rounds (the
    // next one may take as long) plus a twentieth of the interval for wake-up and fsync jitter.
    const auto interval = std::chrono::microseconds(interval_us_);
    // At most half the interval: one slow round (a base backup) does not run the next eight back to back.
    const auto budget = std::min<Clock::duration>(*std::max_element(recent.begin(), recent.end()) + interval / 20,
                                                  interval / 2);
    wake_.wait_until(lock, started + (interval - budget), [this] { return stop_; });
  }
}

}  // namespace convstore::api
