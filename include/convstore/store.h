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
#ifndef CONVSTORE_STORE_H_
#define CONVSTORE_STORE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/cost.h"
#include "convstore/export.h"
#include "convstore/metadata.h"
#include "convstore/options.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

class CONVSTORE_EXPORT ConversationStore {
 public:
  // Path of an in-memory store: private to the handle, gone when it closes.
  static constexpr const char* kInMemory = ":memory:";

  // Opens (creating if allowed) the store at `path`, applying pending schema migrations in one transaction.
  // Fails with kSchemaTooNew for a file written by a newer convstore, kCorruption for a file that is not a
  // convstore database, kNotFound when the file is missing and create_if_missing is false.
  static Result<std::unique_ptr<ConversationStore>> Open(const std::string& path, const Options& options = {});

  ConversationStore() = default;
  ConversationStore(const ConversationStore&) = delete;
  ConversationStore& operator=(const ConversationStore&) = delete;
  virtual ~ConversationStore();

  // Closes the database connections. Waits for calls in progress; later calls fail with kClosed.
  // A second Close is a no-op returning OK.
  virtual Status Close() = 0;
  virtual bool closed() const = 0;
  // The schema version of the open file.
  virtual int schema_version() const = 0;

  // ---- teams and users ----
  virtual Result<Team> UpsertTeam(const TeamInput& team) = 0;
  virtual Result<Team> GetTeam(std::string_view key) = 0;
  virtual Result<User> UpsertUser(const UserInput& user) = 0;
  virtual Result<User> GetUser(std::string_view key) = 0;

  // ---- conversations ----
  virtual Result<Conversation> CreateConversation(const NewConversation& conversation) = 0;
  // The conversation record alone, with its counters.
  virtual Result<Conversation> GetConversationInfo(std::string_view id) = 0;
  // The conversation, its messages in order (one query for all of them, no N+1) and message_count, read from one
  // consistent snapshot.
  virtual Result<ConversationWithMessages> GetConversation(std::string_view id) = 0;
  virtual Result<Conversation> UpdateConversation(std::string_view id, const ConversationUpdate& update) = 0;
  virtual Status SetArchived(std::string_view id, bool archived) = 0;
  // Deletes the conversation, its messages and their tool calls.
  virtual Status DeleteConversation(std::string_view id) = 0;
  // A user's conversations, most recently updated first, paginated by an opaque cursor.
  virtual Result<ConversationPage> ListConversations(const ListConversationsOptions& options) = 0;

  // ---- messages ----
  virtual Result<Message> AddMessage(std::string_view conversation_id, const NewMessage& message) = 0;
  // All or nothing, in one transaction. Returns the messages in input order.
  virtual Result<std::vector<Message>> AddMessages(std::string_view conversation_id,
                                                   const std::vector<NewMessage>& messages) = 0;
  // The newest messages whose token counts together fit in max_tokens, oldest first. A message's count is
  // tokens_output for assistant messages and tokens_input for the others; when that is unset it is estimated as
  // ceil(UTF-8 bytes of content / 4). Stops at the first (newest-to-oldest) message that does not fit.
  virtual Result<std::vector<Message>> GetContext(std::string_view conversation_id, int64_t max_tokens) = 0;

  // ---- tool calls ----
  virtual Result<ToolCall> AddToolCall(std::string_view message_id, const NewToolCall& call) = 0;
  virtual Result<std::vector<ToolCall>> ListToolCalls(std::string_view message_id) = 0;

  // ---- prices (convstore/cost.h) ----
  // Adds (or replaces, same model/is_pattern/effective_from) a user price. Existing costs do not change until
  // Reprice covers them.
  virtual Result<Price> AddPrice(const PriceInput& price) = 0;
  // Every price, catalog and user, ordered by model then effective_from.
  virtual Result<std::vector<Price>> ListPrices() = 0;
  // The price in effect for `model` at `at`; kNotFound when none applies.
  virtual Result<Price> ResolvePrice(std::string_view model, Micros at) = 0;
  // Recomputes the cost of every message and API-usage row in [from, to) whose cost came from a price (or that has
  // tokens but no cost yet) with the prices now in effect; conversation counters and rollups follow, in one
  // transaction. Explicit costs are never changed.
  virtual Result<RepriceReport> Reprice(Micros from, Micros to) = 0;

  // ---- API usage ----
  virtual Result<ApiUsage> RecordApiUsage(const NewApiUsage& usage) = 0;

  // ---- cost summaries: read from the rollups, O(days x groups) whatever the number of rows ----
  virtual Result<CostSummary> GetCostSummary(const CostFilter& filter) = 0;
  // Group by any of: day, week, month, user, team, model, role, endpoint, status, source (1..4 dimensions).
  virtual Result<CostGroupResult> GroupCosts(const CostFilter& filter, const std::vector<std::string>& group_by) = 0;
  // Per user x model; the filter's source defaults apply ("message"); use "api" for API calls.
  virtual Result<std::vector<UsageStat>> GetUsageStats(const CostFilter& filter) = 0;
  // Month-to-date spend (all sources) of a team against its monthly budget, with projections. lookback_days 1..366.
  virtual Result<TeamSpend> GetTeamSpend(std::string_view team_key, int lookback_days) = 0;
  // Recomputes the rollups from the raw rows and reports differences (read-only; O(rows)).
  virtual Result<RollupReport> VerifyRollups() = 0;
  // Recomputes the rollups from the raw rows and replaces them, in one transaction.
  virtual Result<RollupReport> RebuildRollups() = 0;

  // ---- metadata search (convstore/metadata.h) ----
  // Rows whose metadata matches the query's containment document and path conditions (and its ordinary filters),
  // newest first, with the plan that found them.
  virtual Result<MetadataSearchResult> SearchMetadata(const MetadataQuery& query) = 0;
  // Runs the query and returns only its plan: posting lists used with their counts, candidates, verified rows.
  virtual Result<MetadataPlan> ExplainMetadata(const MetadataQuery& query) = 0;
  // Recomputes the postings from the documents and compares with the index (read-only; O(documents)).
  virtual Result<MetadataIndexReport> VerifyMetadataIndex() = 0;
  // Drops and rebuilds the whole index in one transaction (reports progress through Options::on_progress).
  virtual Result<MetadataIndexReport> RebuildMetadataIndex() = 0;
  // Leaves these paths (and everything below them) out of the index, then rebuilds it; an empty list indexes
  // everything. Paths as in a filter: "a.b" or a JSON Pointer "/a.b". Conditions on an excluded path still
  // work: they are checked on each candidate. At most 64 paths.
  virtual Result<MetadataIndexReport> SetMetadataExcludedPaths(const std::vector<std::string>& paths) = 0;

  // ---- budgets ----
  // Creates or updates (by name) a budget.
  virtual Result<BudgetState> SetBudget(const BudgetInput& budget) = 0;
  virtual Status DeleteBudget(std::string_view name) = 0;
  // Every budget whose used fraction is >= min_used_fraction (0: all), with its current window's spend: the
  // alerts query ("which scopes are over 80%?").
  virtual Result<std::vector<BudgetState>> GetBudgets(double min_used_fraction) = 0;
  // Admits or refuses (kBudgetExceeded, nothing written) a call estimated at estimated_cost, atomically against
  // spend plus open reservations of every hard budget covering the user, the user's team, or everything. A retry
  // with the same request_id returns the first reservation while it is open (or settled); a released or expired
  // one is kConflict (reserve again with a new id), and so is an id already used by another user or by recorded
  // API usage.
  virtual Result<Reservation> Reserve(const ReserveRequest& request) = 0;
  // Records the call's actual usage (as API usage with request_id = the reservation's) and closes the reservation.
  // user_key may be left empty (the reservation's user). A retry returns the same usage record.
  virtual Result<ApiUsage> Settle(std::string_view request_id, const NewApiUsage& usage) = 0;
  // Closes an open reservation without usage (the call was not made). Idempotent.
  virtual Result<Reservation> Release(std::string_view request_id) = 0;
};

// Library version ("0.1.0") and ABI version, as compiled into the shared library.
CONVSTORE_EXPORT const char* Version() noexcept;
CONVSTORE_EXPORT int AbiVersion() noexcept;

}  // namespace convstore

#endif  // CONVSTORE_STORE_H_
