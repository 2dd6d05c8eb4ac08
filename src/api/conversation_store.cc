// The public classes over the store implementation: ConversationStore and its capability bases forward each call
// to api::StoreImpl, which guards it (nothing throws) and runs it. Forwarding only.
#include "api/store_impl.h"
#include "convstore/store.h"

namespace convstore {

ConversationStore::ConversationStore(std::unique_ptr<api::StoreImpl> impl) : impl_(std::move(impl)) {}
ConversationStore::~ConversationStore() = default;

Status ConversationStore::Close() { return impl_->Close(); }
bool ConversationStore::closed() const { return impl_->closed(); }
int ConversationStore::schema_version() const { return impl_->schema_version(); }
Result<Team> ConversationStore::UpsertTeam(const TeamInput& team) { return impl_->UpsertTeam(team); }
Result<Team> ConversationStore::GetTeam(std::string_view key) { return impl_->GetTeam(key); }
Result<User> ConversationStore::UpsertUser(const UserInput& user) { return impl_->UpsertUser(user); }
Result<User> ConversationStore::GetUser(std::string_view key) { return impl_->GetUser(key); }
Result<Conversation> ConversationStore::CreateConversation(const NewConversation& conversation) {
  return impl_->CreateConversation(conversation);
}
Result<Conversation> ConversationStore::GetConversationInfo(std::string_view id) {
  return impl_->GetConversationInfo(id);
}
Result<ConversationWithMessages> ConversationStore::GetConversation(std::string_view id) {
  return impl_->GetConversation(id);
}
Result<Conversation> ConversationStore::UpdateConversation(std::string_view id, const ConversationUpdate& update) {
  return impl_->UpdateConversation(id, update);
}
Status ConversationStore::SetArchived(std::string_view id, bool archived) { return impl_->SetArchived(id, archived); }
Status ConversationStore::DeleteConversation(std::string_view id) { return impl_->DeleteConversation(id); }
Result<ConversationPage> ConversationStore::ListConversations(const ListConversationsOptions& options) {
  return impl_->ListConversations(options);
}
Result<Message> ConversationStore::AddMessage(std::string_view conversation_id, const NewMessage& message) {
  return impl_->AddMessage(conversation_id, message);
}
Result<std::vector<Message>> ConversationStore::AddMessages(std::string_view conversation_id, const std::vector<NewMessage>& messages) {
  return impl_->AddMessages(conversation_id, messages);
}
Result<std::vector<Message>> ConversationStore::GetContext(std::string_view conversation_id, int64_t max_tokens) {
  return impl_->GetContext(conversation_id, max_tokens);
}
Result<ToolCall> ConversationStore::AddToolCall(std::string_view message_id, const NewToolCall& call) {
  return impl_->AddToolCall(message_id, call);
}
Result<std::vector<ToolCall>> ConversationStore::ListToolCalls(std::string_view message_id) {
  return impl_->ListToolCalls(message_id);
}

// ---- Costs: a base of every ConversationStore ----
Result<Price> Costs::AddPrice(const PriceInput& price) {
  return static_cast<ConversationStore*>(this)->impl_->AddPrice(price);
}
Result<std::vector<Price>> Costs::ListPrices() { return static_cast<ConversationStore*>(this)->impl_->ListPrices(); }
Result<Price> Costs::ResolvePrice(std::string_view model, Micros at) {
  return static_cast<ConversationStore*>(this)->impl_->ResolvePrice(model, at);
}
Result<RepriceReport> Costs::Reprice(Micros from, Micros to) {
  return static_cast<ConversationStore*>(this)->impl_->Reprice(from, to);
}
Result<ApiUsage> Costs::RecordApiUsage(const NewApiUsage& usage) {
  return static_cast<ConversationStore*>(this)->impl_->RecordApiUsage(usage);
}
Result<CostSummary> Costs::GetCostSummary(const CostFilter& filter) {
  return static_cast<ConversationStore*>(this)->impl_->GetCostSummary(filter);
}
Result<CostGroupResult> Costs::GroupCosts(const CostFilter& filter, const std::vector<std::string>& group_by) {
  return static_cast<ConversationStore*>(this)->impl_->GroupCosts(filter, group_by);
}
Result<std::vector<UsageStat>> Costs::GetUsageStats(const CostFilter& filter) {
  return static_cast<ConversationStore*>(this)->impl_->GetUsageStats(filter);
}
Result<TeamSpend> Costs::GetTeamSpend(std::string_view team_key, int lookback_days) {
  return static_cast<ConversationStore*>(this)->impl_->GetTeamSpend(team_key, lookback_days);
}
Result<RollupReport> Costs::VerifyRollups() { return static_cast<ConversationStore*>(this)->impl_->VerifyRollups(); }
Result<RollupReport> Costs::RebuildRollups() { return static_cast<ConversationStore*>(this)->impl_->RebuildRollups(); }
Result<BudgetState> Costs::SetBudget(const BudgetInput& budget) {
  return static_cast<ConversationStore*>(this)->impl_->SetBudget(budget);
}
Status Costs::DeleteBudget(std::string_view name) {
  return static_cast<ConversationStore*>(this)->impl_->DeleteBudget(name);
}
Result<std::vector<BudgetState>> Costs::GetBudgets(double min_used_fraction) {
  return static_cast<ConversationStore*>(this)->impl_->GetBudgets(min_used_fraction);
}
Result<Reservation> Costs::Reserve(const ReserveRequest& request) {
  return static_cast<ConversationStore*>(this)->impl_->Reserve(request);
}
Result<ApiUsage> Costs::Settle(std::string_view request_id, const NewApiUsage& usage) {
  return static_cast<ConversationStore*>(this)->impl_->Settle(request_id, usage);
}
Result<Reservation> Costs::Release(std::string_view request_id) {
  return static_cast<ConversationStore*>(this)->impl_->Release(request_id);
}

// ---- MetadataSearch: a base of every ConversationStore ----
Result<MetadataSearchResult> MetadataSearch::SearchMetadata(const MetadataQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->SearchMetadata(query);
}
Result<MetadataPlan> MetadataSearch::ExplainMetadata(const MetadataQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->ExplainMetadata(query);
}
Result<MetadataIndexReport> MetadataSearch::VerifyMetadataIndex() {
  return static_cast<ConversationStore*>(this)->impl_->VerifyMetadataIndex();
}
Result<MetadataIndexReport> MetadataSearch::RebuildMetadataIndex() {
  return static_cast<ConversationStore*>(this)->impl_->RebuildMetadataIndex();
}
Result<MetadataIndexReport> MetadataSearch::SetMetadataExcludedPaths(const std::vector<std::string>& paths) {
  return static_cast<ConversationStore*>(this)->impl_->SetMetadataExcludedPaths(paths);
}

}  // namespace convstore
