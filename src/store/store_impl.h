// StoreImpl: the SQLite-backed ConversationStore.
//
// Concurrency: `lifecycle_` is held shared by every call and exclusively by Close, so Close waits for calls in
// progress. Writes go through the WriteQueue, which runs them on the writer connection under `write_mu_` in
// BEGIN IMMEDIATE transactions, group-committing concurrent ones (SQLite's lock plus busy_timeout serialises writers
// across processes). Reads lease a connection from the reader pool; an
// in-memory store has no pool and reads on the writer connection under `write_mu_`.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <type_traits>

#include "convstore/store.h"
#include "sqlite/connection.h"
#include "sqlite/reader_pool.h"
#include "store/write_queue.h"
#include "util/logging.h"

namespace convstore::store {

class StoreImpl final : public ConversationStore {
 public:
  StoreImpl(Options options, std::string path, std::unique_ptr<sqlite::Connection> writer,
            std::unique_ptr<sqlite::ReaderPool> readers, int schema_version);
  ~StoreImpl() override;

  Status Close() override;
  bool closed() const override { return closed_.load(std::memory_order_acquire); }
  int schema_version() const override { return schema_version_; }

  Result<Team> UpsertTeam(const TeamInput& team) override;
  Result<Team> GetTeam(std::string_view key) override;
  Result<User> UpsertUser(const UserInput& user) override;
  Result<User> GetUser(std::string_view key) override;

  Result<Conversation> CreateConversation(const NewConversation& conversation) override;
  Result<Conversation> GetConversationInfo(std::string_view id) override;
  Result<ConversationWithMessages> GetConversation(std::string_view id) override;
  Result<Conversation> UpdateConversation(std::string_view id, const ConversationUpdate& update) override;
  Status SetArchived(std::string_view id, bool archived) override;
  Status DeleteConversation(std::string_view id) override;
  Result<ConversationPage> ListConversations(const ListConversationsOptions& options) override;

  Result<Message> AddMessage(std::string_view conversation_id, const NewMessage& message) override;
  Result<std::vector<Message>> AddMessages(std::string_view conversation_id,
                                           const std::vector<NewMessage>& messages) override;
  Result<std::vector<Message>> GetContext(std::string_view conversation_id, int64_t max_tokens) override;

  Result<ToolCall> AddToolCall(std::string_view message_id, const NewToolCall& call) override;
  Result<std::vector<ToolCall>> ListToolCalls(std::string_view message_id) override;

 private:
  int64_t Now() const { return options_.clock ? options_.clock() : NowSystem(); }
  static int64_t NowSystem();
  void LogIfSlow(const char* op, std::chrono::steady_clock::time_point start) const;

  // Runs fn(Connection&) -> Result<T> | Status inside a write transaction (shared with concurrent writes by the
  // write queue's group commit); returns its result once committed, or the error.
  template <typename F>
  auto Write(const char* op, F&& fn) -> std::invoke_result_t<F, sqlite::Connection&> {
    using R = std::invoke_result_t<F, sqlite::Connection&>;
    std::shared_lock life(lifecycle_);
    if (closed()) return Status::Closed();
    auto start = std::chrono::steady_clock::now();
    std::optional<R> result;
    PendingWrite w;
    w.body = [&](sqlite::Connection& conn) -> Status {
      try {
        result.emplace(fn(conn));
        return StatusOf(*result);
      } catch (const std::exception& e) {  // bad_alloc, mostly: the write is rolled back
        result.reset();
        return Status::Internal(std::string(op) + ": " + e.what());
      }
    };
    Status s = writes_->Submit(w);
    LogIfSlow(op, start);
    if (!s.ok()) return s;
    return std::move(*result);
  }

  // Runs fn(Connection&) -> Result<T> | Status on a reader connection (autocommit: each statement one snapshot).
  template <typename F>
  auto Read(const char* op, F&& fn) -> std::invoke_result_t<F, sqlite::Connection&> {
    std::shared_lock life(lifecycle_);
    if (closed()) return Status::Closed();
    auto start = std::chrono::steady_clock::now();
    try {
      if (readers_) {
        auto lease = readers_->Acquire();
        auto result = fn(*lease);
        LogIfSlow(op, start);
        return result;
      }
      std::lock_guard lock(write_mu_);
      auto result = fn(*writer_);
      LogIfSlow(op, start);
      return result;
    } catch (const std::exception& e) {
      return Status::Internal(std::string(op) + ": " + e.what());
    }
  }

  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& StatusOf(const Result<T>& r) { return r.status(); }

  Options options_;
  std::string path_;
  int schema_version_;
  std::atomic<bool> closed_{false};
  mutable std::shared_mutex lifecycle_;
  std::mutex write_mu_;
  std::unique_ptr<sqlite::Connection> writer_;
  std::unique_ptr<sqlite::ReaderPool> readers_;
  std::unique_ptr<WriteQueue> writes_;
};

}  // namespace convstore::store
