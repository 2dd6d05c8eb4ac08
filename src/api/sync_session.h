// A sync's hold on its PostgreSQL between rounds (StoreImpl::DoSyncRound does the rounds): the checked options,
// the connection (re-made after it is lost), the applier, and the store's id and label. And the background thread
// of in-process sync, which backs off after failures.
//
// A SyncSession is used by one round at a time (the background thread, or the caller of SyncToPostgres).
// BackgroundSyncer is thread-safe; it owns its thread and joins it in Stop or its destructor.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "convstore/sync.h"
#include "sync/apply.h"
#include "sync/pg_connection.h"

namespace convstore::api {

struct SyncSession {
  SyncOptions options;
  std::string store_id;            // set by the first round
  std::string label;
  std::unique_ptr<sync::PgConnection> pg;
  std::unique_ptr<sync::Applier> applier;  // over pg
  std::string consumer;            // the journal consumer that keeps the entries not yet synced
  sync::SourceColumns columns;     // the source tables' column names (read by the first round)
  int64_t consumer_position = -1;  // where this session last set it (a round that moved nothing writes nothing)

  // Checks the options (nothing is connected yet).
  static Status Check(const SyncOptions& options);
  // Drops the connection (after it failed): the next round connects again.
  void Disconnect();
};

// Adds `round` to `totals` (counts summed, the position and lag taken from the round).
void AddRound(const SyncReport& round, SyncReport* totals);

// The journal consumer a sync keeps its position in: "postgres:" + the server and database + ":" + the schema (cut to
// 256 bytes). It is stored one entry behind the last entry applied (the next round re-reads that entry's time).
std::string SyncConsumerName(const std::string& described_server, const std::string& schema);
bool IsSyncConsumer(std::string_view consumer);

class BackgroundSyncer {
 public:
  // Calls round() on its own thread until Stop: every interval while rounds succeed; after n consecutive
  // failures, after min(interval * 2^n, 30 s).
  BackgroundSyncer(std::string postgres, int64_t interval_us, std::function<Result<SyncReport>()> round,
                   std::function<int64_t()> now);
  ~BackgroundSyncer();
  BackgroundSyncer(const BackgroundSyncer&) = delete;
  BackgroundSyncer& operator=(const BackgroundSyncer&) = delete;

  void Stop();  // waits for a round in progress; idempotent
  SyncStatus Status() const;
  void Record(const Result<SyncReport>& round);  // a round run outside the thread (StopSync's last one)

 private:
  void Run();

  const int64_t interval_us_;
  const std::function<Result<SyncReport>()> round_;
  const std::function<int64_t()> now_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  SyncStatus status_;
  std::thread thread_;  // last: starts once the rest is set up
};

}  // namespace convstore::api
