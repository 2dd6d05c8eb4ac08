// ConversationStore: the convstore C++ API.
//
//   auto store = convstore::ConversationStore::Open("agent.db");
//   if (!store.ok()) { /* store.status().ToString() */ }
//   auto conv = (*store)->CreateConversation({.user_key = "engineer@company.com", .title = "BGP"});
//
// Thread-safety: a ConversationStore is safe to use from many threads at once. Writes are serialised on one
// writer connection (and across processes by SQLite's lock, waiting up to Options::busy_timeout_ms); reads of a file
// store run on a pool of reader connections in parallel with writes, each seeing a consistent snapshot.
// Ownership: Open returns a unique_ptr; destroying it closes the store. Records returned are copies owned by the
// caller. No call throws; failures come back as Status.
//
// Capabilities: this header holds the store itself (open, close, users and teams, conversations, messages, tool
// calls); each further capability keeps its entry points in its own header, in a non-virtual base class
// of ConversationStore without data — convstore/cost.h (Costs: prices, API usage, cost summaries, budgets) and
// convstore/metadata.h (MetadataSearch), convstore/ops.h (Operations: the change journal, backups, the archive),
// convstore/sync.h (Sync: PostgreSQL), convstore/audit.h (Audit: the audit log), convstore/monitoring.h
// (Monitoring: metrics), convstore/retention.h (Retention: how long data is kept) and convstore/privacy.h
// (Privacy: erasing a person), convstore/search.h (Search: full-text search) and convstore/vectors.h (VectorSearch:
// embeddings, nearest neighbours, hybrid search). The class is a pointer to a private implementation: adding an entry point to it or
// to a capability never changes its size or layout (docs/architecture.md, "ABI").
#ifndef CONVSTORE_STORE_H_
#define CONVSTORE_STORE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/audit.h"
#include "convstore/cost.h"
#include "convstore/env.h"
#include "convstore/export.h"
#include "convstore/metadata.h"
#include "convstore/monitoring.h"
#include "convstore/ops.h"
#include "convstore/options.h"
#include "convstore/privacy.h"
#include "convstore/retention.h"
#include "convstore/search.h"
#include "convstore/vectors.h"
#include "convstore/status.h"
#include "convstore/sessions.h"
#include "convstore/sync.h"
#include "convstore/types.h"

namespace convstore {

namespace api {
class StoreImpl;
}  // namespace api

class CONVSTORE_EXPORT ConversationStore final : public Costs, public MetadataSearch, public Operations,
                                                   public Sync, public Audit, public Monitoring, public Retention,
                                                   public Privacy, public Search,
                                                   public VectorSearch {
 public:
  // Path of an in-memory store: private to the handle, gone when it closes.
  static constexpr const char* kInMemory = ":memory:";

  // Opens (creating if allowed) the store at `path`, applying pending schema migrations in one transaction.
  // Fails with kSchemaTooNew for a file written by a newer convstore, kCorruption for a file that is not a
  // convstore database, kNotFound when the file is missing and create_if_missing is false.
  static Result<std::unique_ptr<ConversationStore>> Open(const std::string& path, const Options& options = {});

  ConversationStore(const ConversationStore&) = delete;
  ConversationStore& operator=(const ConversationStore&) = delete;
  ~ConversationStore();

  // Closes the database connections. Waits for calls in progress; later calls fail with kClosed.
  // A second Close is a no-op returning OK.
  Status Close();
  bool closed() const;
  // The schema version of the open file.
  int schema_version() const;

  // ---- teams and users ----
  Result<Team> UpsertTeam(const TeamInput& team);
  Result<Team> GetTeam(std::string_view key);
  Result<User> UpsertUser(const UserInput& user);
  Result<User> GetUser(std::string_view key);

  // ---- conversations ----
  Result<Conversation> CreateConversation(const NewConversation& conversation);
  // The conversation record alone, with its counters.
  Result<Conversation> GetConversationInfo(std::string_view id);
  // The conversation, its messages in order (one query for all of them, no N+1) and message_count, read from one
  // consistent snapshot.
  Result<ConversationWithMessages> GetConversation(std::string_view id);
  Result<Conversation> UpdateConversation(std::string_view id, const ConversationUpdate& update);
  Status SetArchived(std::string_view id, bool archived);
  // Deletes the conversation, its messages and their tool calls.
  Status DeleteConversation(std::string_view id);
  // A user's conversations, most recently updated first, paginated by an opaque cursor.
  Result<ConversationPage> ListConversations(const ListConversationsOptions& options);

  // ---- messages ----
  Result<Message> AddMessage(std::string_view conversation_id, const NewMessage& message);
  // All or nothing, in one transaction. Returns the messages in input order.
  Result<std::vector<Message>> AddMessages(std::string_view conversation_id,
                                           const std::vector<NewMessage>& messages);
  // A context window, oldest first, read from one snapshot: the system prompt and system messages (include_system),
  // then the newest units that fit in what is left of max_tokens. A unit is a message with the tool-role messages
  // that follow it (a tool call's results), kept or dropped together: a model API refuses a tool result without
  // its call. Newest first, a unit that does not fit stops the walk (kStop, the default: a contiguous suffix, as
  // LangChain's trim_messages) or is skipped (kSkip). Counting: ContextCounting in types.h.
  Result<std::vector<Message>> GetContext(std::string_view conversation_id, const ContextOptions& options);
  // GetContext with the default options and this max_tokens.
  Result<std::vector<Message>> GetContext(std::string_view conversation_id, int64_t max_tokens);
  // The newest `count` messages (1..kMaxListLimit), oldest first; fewer when the conversation has fewer.
  Result<std::vector<Message>> GetLastMessages(std::string_view conversation_id, int64_t count);
  // Removing history. Each runs in one transaction with the conversation's message_count, the metadata index and
  // the message's tool calls (deleted with it). Money spent stays spent: a deleted message leaves a tombstone with
  // its time, model, role, tokens, cost and request_id (no content), which the cost rollups, summaries and budgets
  // go on counting, and the conversation's token and cost totals keep it; a later add with its request_id is
  // kConflict. Positions are not reused: after a delete they have gaps.
  // Deletes one message and returns it as it was.
  Result<Message> DeleteMessage(std::string_view message_id);
  // Deletes and returns the newest message; nullopt when the conversation has none.
  Result<std::optional<Message>> PopMessage(std::string_view conversation_id);
  // Deletes every message of the conversation (it stays, with its metadata); returns how many were deleted.
  Result<int64_t> ClearMessages(std::string_view conversation_id);
  // Corrects a message's content, metadata or raw item (MessageEdit); the metadata index follows.
  Result<Message> EditMessage(std::string_view message_id, const MessageEdit& edit);

  // ---- agent frameworks (convstore/sessions.h) ----
  // Appends OpenAI Agents SDK items (`items_json`: a JSON array of item objects) as messages, all or nothing, in
  // one transaction: each item kept whole as the message's raw value and understood as described in
  // convstore/sessions.h; `usage` is recorded on the first assistant item. Returns how many messages were added.
  Result<int64_t> AddAgentItems(std::string_view conversation_id, std::string_view items_json,
                                const AgentUsage& usage = {});
  // Imports the history of another tool's file (ImportOptions), leaving that file untouched.
  Result<ImportReport> ImportHistory(const ImportOptions& options);

  // ---- tool calls ----
  Result<ToolCall> AddToolCall(std::string_view message_id, const NewToolCall& call);
  Result<std::vector<ToolCall>> ListToolCalls(std::string_view message_id);
  // Finishes a pending tool call (status success or error, output, error message, duration); see ToolCallUpdate.
  Result<ToolCall> UpdateToolCall(std::string_view tool_call_id, const ToolCallUpdate& update);

 private:
  friend class Costs;
  friend class MetadataSearch;
  friend class Operations;
  friend class Sync;
  friend class Audit;
  friend class Monitoring;
  friend class Retention;
  friend class Privacy;
  friend class Search;
  friend class VectorSearch;
  explicit ConversationStore(std::unique_ptr<api::StoreImpl> impl);
  std::unique_ptr<api::StoreImpl> impl_;  // the one data member: see "ABI" in docs/architecture.md
};

// Library version ("0.1.0") and ABI version, as compiled into the shared library.
CONVSTORE_EXPORT const char* Version() noexcept;
CONVSTORE_EXPORT int AbiVersion() noexcept;

// Microseconds since the epoch of ISO-8601 text with an offset ("2026-02-11T09:30:00Z", "...10:30:00.5+01:00",
// 'T' or ' ' between date and time), under the rules every entry point applies to times given as text: no
// offset is refused (a local time is ambiguous), as is a time outside [kMinTimestampUs, kMaxTimestampUs].
CONVSTORE_EXPORT Result<Micros> ParseTime(std::string_view text);

}  // namespace convstore

#endif  // CONVSTORE_STORE_H_
