#include "api/sync_session.h"

#include <algorithm>
#include <chrono>

#include "util/logging.h"
#include "util/utf8.h"

namespace convstore::api {

Status SyncSession::Check(const SyncOptions& o) {
  if (o.postgres_url.empty())
    return Status::InvalidArgument("sync: postgres_url is required (e.g. postgresql://user@host/db)");
  if (o.postgres_url.size() > 4096) return Status::InvalidArgument("sync: postgres_url is longer than 4 KiB");
  if (Status s = sync::CheckConnectionString(o.postgres_url); !s.ok())
    return Status::InvalidArgument("sync: " + s.message());
  if (o.schema.empty() || o.schema.size() > 63 || o.schema.find('\0') != std::string::npos ||
      !util::IsValidUtf8(o.schema))
    return Status::InvalidArgument("sync: schema must be 1..63 bytes of UTF-8 without NUL");
  if (o.interval_us < 1'000 || o.interval_us > 3'600'000'000)
    return Status::InvalidArgument("sync: interval_us must be 1 ms .. 1 hour");
  if (o.batch_entries < 1 || o.batch_entries > 100'000)
    return Status::InvalidArgument("sync: batch_entries must be 1 .. 100,000");
  if (o.label.size() > 1024 || o.label.find('\0') != std::string::npos || !util::IsValidUtf8(o.label))
    return Status::InvalidArgument("sync: label must be at most 1 KiB of UTF-8 without NUL");
  return Status::OK();
}

void SyncSession::Disconnect() {
  applier.reset();
  pg.reset();
}

namespace {
constexpr std::string_view kSyncConsumerPrefix = "postgres:";
}  // namespace

std::string SyncConsumerName(const std::string& described_server, const std::string& schema) {
  std::string name = std::string(kSyncConsumerPrefix) + described_server + ":" + schema;
  if (name.size() > 256) name.resize(256);  // a consumer name is a key (UTF-8 kept whole below)
  while (!util::IsValidUtf8(name)) name.pop_back();
  return name;
}

bool IsSyncConsumer(std::string_view consumer) { return consumer.rfind(kSyncConsumerPrefix, 0) == 0; }

void AddRound(const SyncReport& round, SyncReport* totals) {
  totals->store_id = round.store_id;
  if (round.loaded) {
    totals->loaded = true;
    totals->load_reason = round.load_reason;
  }
  totals->rows_loaded += round.rows_loaded;
  totals->entries_applied += round.entries_applied;
  totals->changes_applied += round.changes_applied;
  totals->dead_letters += round.dead_letters;
  totals->position = round.position;
  totals->position_committed_at = round.position_committed_at;
  totals->pending_entries = round.pending_entries;
  totals->lag_us = round.lag_us;
}

BackgroundSyncer::BackgroundSyncer(std::string postgres, int64_t interval_us,
                                   std::function<Result<SyncReport>()> round, std::function<int64_t()> now)
    : interval_us_(interval_us), round_(std::move(round)), now_(std::move(now)) {
  status_.running = true;
  status_.postgres = std::move(postgres);
  thread_ = std::thread([this] { Run(); });
}

BackgroundSyncer::~BackgroundSyncer() { Stop(); }

void BackgroundSyncer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    status_.running = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SyncStatus BackgroundSyncer::Status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void BackgroundSyncer::Record(const Result<SyncReport>& round) {
  std::lock_guard lock(mu_);
  ++status_.rounds;
  if (round.ok()) {
    status_.last_error.clear();
    status_.consecutive_failures = 0;
    status_.last_success_at = now_();
    AddRound(*round, &status_.totals);
  } else {
    ++status_.failed_rounds;
    ++status_.consecutive_failures;
    status_.last_error = round.status().ToString();
  }
}

void BackgroundSyncer::Run() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    const auto started = Clock::now();
    auto round = round_();
    Record(round);
    lock.lock();
    auto wait = std::chrono::microseconds(interval_us_);
    if (!round.ok()) {
      const int64_t doublings = std::min<int64_t>(status_.consecutive_failures - 1, 20);
      wait = std::min(std::chrono::microseconds(interval_us_ << std::min<int64_t>(doublings, 20)),
                      std::chrono::microseconds(30'000'000));
      wait = std::max(wait, std::chrono::microseconds(interval_us_));
      if (round.status().code() != Code::kClosed)
        util::Logger().error("sync into {} failed (next try in {} ms): {}", status_.postgres, wait.count() / 1000,
                             round.status().ToString());
    }
    wake_.wait_until(lock, started + wait, [this] { return stop_; });
  }
}

}  // namespace convstore::api
