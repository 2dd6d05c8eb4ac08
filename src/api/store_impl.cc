#include "api/store_impl.h"

#include "search/text_index.h"
#include "util/fork.h"
#include "util/time.h"

namespace convstore::api {

namespace {

uint64_t NextInstanceId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

StoreImpl::StoreImpl(Options options, std::string path, std::unique_ptr<sqlite::Connection> writer,
                     std::unique_ptr<ops::JournalCapture> journal, std::unique_ptr<sqlite::ReaderPool> readers,
                     int schema_version, std::unique_ptr<OpenFileRegistration> registration)
    : options_(std::move(options)),
      env_(options_.env != nullptr ? options_.env : Env::Default()),
      path_(std::move(path)),
      schema_version_(schema_version),
      fork_generation_(util::ForkGeneration()),
      instance_id_(NextInstanceId()),
      registration_(std::move(registration)),
      writer_(std::move(writer)),
      journal_(std::move(journal)),
      readers_(std::move(readers)),
      writes_(std::make_unique<sqlite::WriteQueue>(writer_.get(), &write_mu_)) {
  background_indexing_.store(options_.background_indexing);
  writes_->SetAfterFailure([](sqlite::Connection& conn) { return search::DiscardUnsavedState(conn); });
  try {
    counting_since_.store(Now(), std::memory_order_relaxed);
  } catch (...) {  // an injected clock that throws: the statistics' start is then unknown (0)
  }
}

StoreImpl::~StoreImpl() { (void)Close(); }

Status StoreImpl::CheckUsable() const {
  if (closed()) return Status::Closed();
  if (util::ForkGeneration() != fork_generation_)
    return Status::Closed("this store was opened before fork(); open it again in the child process");
  return Status::OK();
}

Status StoreImpl::Close() {
  util::CallScope in_call;
  // Refuse new calls first, so a steady stream of them cannot starve Close of the exclusive lock.
  // Sequentially consistent: a counted call that starts after WaitForCountedCalls has looked must see it (Call).
  const bool already_closed = closed_.exchange(true);
  if (!already_closed) {
    StopArchiver();  // its round in progress ends (its calls now fail with kClosed)
    StopSyncer();
    StopRetentionTask();
    StopTextIndexer();
    StopCheckpointer();
    // Counted calls registered before closed_ was set finish (they record their count) before the exclusive lock
    // below could hold up one still on its way to the lifecycle lock. (Not in a forked child: the count it
    // inherited includes the parent's other threads.)
    if (util::ForkGeneration() == fork_generation_) WaitForCountedCalls();
  }
  std::unique_lock life(lifecycle_, std::defer_lock);  // waits for calls in progress, or for a concurrent Close
  util::LockParked(life);
  if (already_closed) return Status::OK();
  if (util::ForkGeneration() != fork_generation_) {
    // In a forked child the connections (and their locks) belong to the parent: closing them here could release
    // or checkpoint under the parent's feet. Abandon them; the memory goes when the child exits.
    (void)writes_.release();
    (void)journal_.release();
    (void)global_.release();  // its PostgreSQL connection is the parent's: closing it here would end the parent's
    // The child never uses the parent's file. An exclusive store's stays registered here: the SQLite state the child
    // inherited says this process holds the file (and has its WAL index in memory), so a connection the child
    // opened to it would share a stale copy of the parent's hold instead of being refused.
    if (options_.exclusive)
      (void)registration_.release();
    else
      registration_.reset();
    (void)readers_.release();
    (void)writer_.release();
    return Status::OK();
  }
  WaitForCountedCalls();  // those that left the store's state while Close waited for the lock finish counting
  SaveStats();  // the writer is still open
  readers_.reset();
  writes_.reset();
  journal_.reset();  // detaches from the writer, which must still be open
  writer_.reset();  // the last connection to close checkpoints the WAL
  registration_.reset();
  util::Logger().debug("closed store '{}'", path_);
  return Status::OK();
}

Status StoreImpl::StartCheckpointer() {
  // A checkpointer needs a connection of its own, which an in-memory store cannot have. An exclusive store's is
  // exclusive too: the process-exclusive VFS shares the WAL index between this process's exclusive connections.
  if (options_.read_only || !options_.background_checkpoints || path_ == ConversationStore::kInMemory)
    return Status::OK();
  sqlite::ConnectionConfig config;
  config.exclusive = options_.exclusive;
  config.full_sync = options_.durability == Durability::kFull;  // a checkpoint syncs as the store's commits do
  config.busy_timeout_ms = options_.busy_timeout_ms;
  // The last copy of each cycle holds this process's writer back: writes wait on the write mutex (not in SQLite's
  // busy handler) for one short copy and sync.
  auto hold_writer = [this](const std::function<void()>& fn) {
    std::unique_lock lock(write_mu_, std::defer_lock);
    util::LockParked(lock);
    fn();
  };
  auto started = sqlite::Checkpointer::Start(path_, config, hold_writer);
  if (!started.ok()) return started.status();
  std::unique_lock lock(write_mu_, std::defer_lock);
  util::LockParked(lock);
  checkpointer_ = std::move(*started);
  writer_->SetCheckpointer(checkpointer_.get());
  return Status::OK();
}

void StoreImpl::StopCheckpointer() {
  if (util::ForkGeneration() != fork_generation_) {
    (void)checkpointer_.release();  // the parent's thread and connection: not this process's to stop or close
    return;
  }
  std::unique_ptr<sqlite::Checkpointer> stopping;
  {
    std::unique_lock lock(write_mu_, std::defer_lock);
    util::LockParked(lock);
    if (writer_) writer_->SetCheckpointer(nullptr);
    stopping = std::move(checkpointer_);
  }
  if (stopping) {
    util::ParkedScope parked;  // a fork need not wait for the checkpoint in progress
    stopping->Stop();
    checkpoints_.fetch_add(stopping->TakeRuns(), std::memory_order_relaxed);
  }
}

void StoreImpl::NotifyBudgetAlerts(const std::vector<BudgetAlert>& alerts) const {
  if (!options_.on_budget_alert) return;
  for (const BudgetAlert& a : alerts) {
    try {
      util::ParkedScope in_user_code;  // a fork need not wait for the callback (util/fork.h)
      options_.on_budget_alert(a);
    } catch (...) {
      util::Logger().error("the on_budget_alert callback threw; ignored");
    }
  }
}

void StoreImpl::LogIfSlow(const char* op, std::chrono::steady_clock::time_point start) const {
  if (options_.slow_operation_ms <= 0) return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (ms >= options_.slow_operation_ms) util::Logger().warn("slow operation {} took {} ms on '{}'", op, ms, path_);
}

}  // namespace convstore::api
