// The public classes over the store implementation: ConversationStore and its capability bases forward each call
// to its api::StoreImpl entry point through StoreImpl::Call, which guards it (nothing throws). Forwarding only.
#include "api/store_impl.h"
#include "util/utf8.h"
#include "convstore/store.h"

namespace convstore {

ConversationStore::ConversationStore(std::unique_ptr<api::StoreImpl> impl) : impl_(std::move(impl)) {}
ConversationStore::~ConversationStore() = default;

Status ConversationStore::Close() { return impl_->Close(); }
bool ConversationStore::closed() const { return impl_->closed(); }
int ConversationStore::schema_version() const { return impl_->schema_version(); }
Result<Team> ConversationStore::UpsertTeam(const TeamInput& team) { return impl_->Call<&api::StoreImpl::DoUpsertTeam>(team); }
Result<Team> ConversationStore::GetTeam(std::string_view key) { return impl_->Call<&api::StoreImpl::DoGetTeam>(key); }
Result<User> ConversationStore::UpsertUser(const UserInput& user) { return impl_->Call<&api::StoreImpl::DoUpsertUser>(user); }
Result<User> ConversationStore::GetUser(std::string_view key) { return impl_->Call<&api::StoreImpl::DoGetUser>(key); }
Result<Conversation> ConversationStore::CreateConversation(const NewConversation& conversation) {
  return impl_->Call<&api::StoreImpl::DoCreateConversation>(conversation);
}
Result<Conversation> ConversationStore::GetConversationInfo(std::string_view id) {
  return impl_->Call<&api::StoreImpl::DoGetConversationInfo>(id);
}
Result<ConversationWithMessages> ConversationStore::GetConversation(std::string_view id) {
  return impl_->Call<&api::StoreImpl::DoGetConversation>(id);
}
Result<Conversation> ConversationStore::UpdateConversation(std::string_view id, const ConversationUpdate& update) {
  return impl_->Call<&api::StoreImpl::DoUpdateConversation>(id, update);
}
Status ConversationStore::SetArchived(std::string_view id, bool archived) { return impl_->Call<&api::StoreImpl::DoSetArchived>(id, archived); }
Status ConversationStore::DeleteConversation(std::string_view id) { return impl_->Call<&api::StoreImpl::DoDeleteConversation>(id); }
Result<ConversationPage> ConversationStore::ListConversations(const ListConversationsOptions& options) {
  return impl_->Call<&api::StoreImpl::DoListConversations>(options);
}
Result<Message> ConversationStore::AddMessage(std::string_view conversation_id, const NewMessage& message) {
  return impl_->Call<&api::StoreImpl::DoAddMessage>(conversation_id, message);
}
Result<std::vector<Message>> ConversationStore::AddMessages(std::string_view conversation_id, const std::vector<NewMessage>& messages) {
  return impl_->Call<&api::StoreImpl::DoAddMessages>(conversation_id, messages);
}
Result<std::vector<Message>> ConversationStore::GetContext(std::string_view conversation_id,
                                                          const ContextOptions& options) {
  return impl_->Call<&api::StoreImpl::DoGetContext>(conversation_id, options);
}

Result<std::vector<Message>> ConversationStore::GetContext(std::string_view conversation_id, int64_t max_tokens) {
  return GetContext(conversation_id, ContextOptions{.max_tokens = max_tokens});
}

Result<std::vector<Message>> ConversationStore::GetLastMessages(std::string_view conversation_id, int64_t count) {
  return impl_->Call<&api::StoreImpl::DoGetLastMessages>(conversation_id, count);
}
Result<ToolCall> ConversationStore::AddToolCall(std::string_view message_id, const NewToolCall& call) {
  return impl_->Call<&api::StoreImpl::DoAddToolCall>(message_id, call);
}
Result<std::vector<ToolCall>> ConversationStore::ListToolCalls(std::string_view message_id) {
  return impl_->Call<&api::StoreImpl::DoListToolCalls>(message_id);
}

Result<Message> ConversationStore::DeleteMessage(std::string_view message_id) {
  return impl_->Call<&api::StoreImpl::DoDeleteMessage>(message_id);
}

Result<std::optional<Message>> ConversationStore::PopMessage(std::string_view conversation_id) {
  return impl_->Call<&api::StoreImpl::DoPopMessage>(conversation_id);
}

Result<int64_t> ConversationStore::ClearMessages(std::string_view conversation_id) {
  return impl_->Call<&api::StoreImpl::DoClearMessages>(conversation_id);
}

Result<Message> ConversationStore::EditMessage(std::string_view message_id, const MessageEdit& edit) {
  return impl_->Call<&api::StoreImpl::DoEditMessage>(message_id, edit);
}

Result<int64_t> ConversationStore::AddAgentItems(std::string_view conversation_id, std::string_view items_json,
                                                 const AgentUsage& usage) {
  return impl_->Call<&api::StoreImpl::DoAddAgentItems>(conversation_id, items_json, usage);
}

Result<ImportReport> ConversationStore::ImportHistory(const ImportOptions& options) {
  return impl_->Call<&api::StoreImpl::DoImportHistory>(options);
}

Result<ToolCall> ConversationStore::UpdateToolCall(std::string_view tool_call_id, const ToolCallUpdate& update) {
  return impl_->Call<&api::StoreImpl::DoUpdateToolCall>(tool_call_id, update);
}

// ---- Costs: a base of every ConversationStore ----
Result<Price> Costs::AddPrice(const PriceInput& price) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoAddPrice>(price);
}
Result<std::vector<Price>> Costs::ListPrices() { return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoListPrices>(); }
Result<Price> Costs::ResolvePrice(std::string_view model, Micros at) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoResolvePrice>(model, at);
}
Result<RepriceReport> Costs::Reprice(Micros from, Micros to) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoReprice>(from, to);
}
Result<ApiUsage> Costs::RecordApiUsage(const NewApiUsage& usage) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRecordApiUsage>(usage);
}
Result<CostSummary> Costs::GetCostSummary(const CostFilter& filter) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetCostSummary>(filter);
}
Result<CostGroupResult> Costs::GroupCosts(const CostFilter& filter, const std::vector<std::string>& group_by) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGroupCosts>(filter, group_by);
}
Result<std::vector<UsageStat>> Costs::GetUsageStats(const CostFilter& filter) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetUsageStats>(filter);
}
Result<CostReport> Costs::GetCostReport(const CostReportOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetCostReport>(options);
}
Result<TeamSpend> Costs::GetTeamSpend(std::string_view team_key, int lookback_days) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetTeamSpend>(team_key, lookback_days);
}
Result<RollupReport> Costs::VerifyRollups() { return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoVerifyRollups>(); }
Result<RollupReport> Costs::RebuildRollups() { return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRebuildRollups>(); }
Result<BudgetState> Costs::SetBudget(const BudgetInput& budget) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetBudget>(budget);
}
Status Costs::DeleteBudget(std::string_view name) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoDeleteBudget>(name);
}
Result<std::vector<BudgetState>> Costs::GetBudgets(double min_used_fraction) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetBudgets>(min_used_fraction);
}
Result<Reservation> Costs::Reserve(const ReserveRequest& request) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoReserve>(request);
}
Result<ApiUsage> Costs::Settle(std::string_view request_id, const NewApiUsage& usage) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSettle>(request_id, usage);
}
Result<Reservation> Costs::Release(std::string_view request_id) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRelease>(request_id);
}

// ---- MetadataSearch: a base of every ConversationStore ----
Result<MetadataSearchResult> MetadataSearch::SearchMetadata(const MetadataQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSearchMetadata>(query);
}
Result<MetadataPlan> MetadataSearch::ExplainMetadata(const MetadataQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoExplainMetadata>(query);
}
Result<MetadataIndexReport> MetadataSearch::VerifyMetadataIndex() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoVerifyMetadataIndex>();
}
Result<MetadataIndexReport> MetadataSearch::RebuildMetadataIndex() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRebuildMetadataIndex>(nullptr);
}
Result<MetadataIndexReport> MetadataSearch::SetMetadataExcludedPaths(const std::vector<std::string>& paths) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetMetadataExcludedPaths>(paths);
}

}  // namespace convstore

namespace convstore {

Result<std::vector<JournalEntry>> Operations::ReadJournal(const JournalQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoReadJournal>(query);
}
Result<JournalStatus> Operations::GetJournalStatus() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetJournalStatus>();
}
Result<std::vector<JournalDescription>> Operations::DescribeJournal(const JournalQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoDescribeJournal>(query);
}
Status Operations::SetJournalEnabled(bool enabled) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetJournalEnabled>(enabled);
}
Status Operations::SetJournalRetention(const JournalRetention& retention) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetJournalRetention>(retention);
}
Result<JournalPruneReport> Operations::PruneJournal() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoPruneJournal>();
}
Status Operations::SetJournalConsumer(std::string_view name, int64_t seq) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetJournalConsumer>(name, seq);
}
Status Operations::RemoveJournalConsumer(std::string_view name) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRemoveJournalConsumer>(name);
}
Result<BackupReport> Operations::Backup(const BackupOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoBackup>(options);
}
Result<ArchiveReport> Operations::ArchiveNow(const ArchiveOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoArchiveNow>(options);
}
Status Operations::StartArchiving(const ArchiveOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoStartArchiving>(options);
}
Result<ArchiveReport> Operations::StopArchiving() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoStopArchiving>();
}
Result<OptimizeReport> Operations::Optimize(const OptimizeOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoOptimize>(options);
}
Result<ArchivingStatus> Operations::GetArchivingStatus() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetArchivingStatus>();
}

Result<SyncReport> Sync::SyncToPostgres(const SyncOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSyncToPostgres>(options);
}
Status Sync::StartSync(const SyncOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoStartSync>(options);
}
Result<SyncReport> Sync::StopSync() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoStopSync>();
}
Result<SyncStatus> Sync::GetSyncStatus() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetSyncStatus>();
}

Status Sync::UseGlobalBudgets(const GlobalBudgetOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoUseGlobalBudgets>(options);
}
Status Sync::SetGlobalBudget(const BudgetInput& budget) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetGlobalBudget>(budget);
}
Status Sync::DeleteGlobalBudget(std::string_view name) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoDeleteGlobalBudget>(name);
}
Result<std::vector<GlobalBudgetState>> Sync::ListGlobalBudgets() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoListGlobalBudgets>();
}

Status Audit::SetAuditContext(const AuditContext& context) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetAuditContext>(context);
}
Result<AuditEntry> Audit::LogEvent(const AuditEventInput& event) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoLogEvent>(event);
}
Result<AuditPage> Audit::ReadAudit(const AuditQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoReadAudit>(query);
}
Result<AuditVerification> Audit::VerifyAudit() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoVerifyAudit>();
}
Result<AuditCheckpoint> Audit::CreateAuditCheckpoint(std::string_view private_key_hex) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoCreateAuditCheckpoint>(private_key_hex);
}
Result<AuditVerification> Audit::VerifyAuditCheckpoint(const AuditCheckpoint& checkpoint,
                                                       std::string_view public_key_hex) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoVerifyAuditCheckpoint>(checkpoint,
                                                            public_key_hex);
}

Status Monitoring::RecordMetric(const MetricPoint& point) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRecordMetric>(point);
}
Result<int64_t> Monitoring::RecordMetrics(const std::vector<MetricPoint>& points) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRecordMetrics>(points);
}
Result<StoreStats> Monitoring::Stats(const StatsOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoStats>(options);
}
Status Monitoring::SetStatsEnabled(bool enabled) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetStatsEnabled>(enabled);
}
Status Monitoring::ResetStats() { return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoResetStats>(); }
Result<HealthReport> Monitoring::CheckHealth(const HealthOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoCheckHealth>(options);
}
Result<MetricSeries> Monitoring::QueryMetrics(const MetricQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoQueryMetrics>(query);
}

Status Retention::SetRetentionPolicy(const RetentionPolicy& policy) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetRetentionPolicy>(policy);
}
Result<RetentionPolicy> Retention::GetRetentionPolicy() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetRetentionPolicy>();
}
Result<RetentionReport> Retention::ApplyRetention(const RetentionOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoApplyRetention>(options);
}
Status Retention::StartRetention(Micros interval_us) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoStartRetention>(interval_us);
}
Result<RetentionStatus> Retention::StopRetention() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoStopRetention>();
}
Result<RetentionStatus> Retention::GetRetentionStatus() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetRetentionStatus>();
}

Result<EraseReport> Privacy::EraseUser(std::string_view user_key) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoEraseUser>(user_key);
}
Result<std::vector<ErasureStatus>> Privacy::ListErasures() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoListErasures>();
}
Result<std::vector<ErasureStatus>> Privacy::FinishErasures() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoFinishErasures>();
}
Result<UserExportReport> Privacy::ExportUser(std::string_view user_key, const UserExportOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoExportUser>(user_key, options);
}
Result<UserImportReport> Privacy::ImportUser(const UserImportOptions& options) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoImportUser>(options);
}

Result<TextSearchResult> Search::SearchText(const TextSearchQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSearchText>(query);
}
Result<SearchIndexStatus> Search::GetSearchStatus() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetSearchStatus>();
}
Result<SearchIndexReport> Search::CatchUpSearchIndex() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoCatchUpSearchIndex>();
}
Result<SearchIndexReport> Search::PurgeSearchIndex() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoPurgeSearchIndex>();
}
Result<SearchIndexReport> Search::RebuildSearchIndex() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoRebuildSearchIndex>();
}
Result<SearchIndexReport> Search::VerifySearchIndex() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoVerifySearchIndex>();
}
Status Search::SetBackgroundIndexing(bool enabled) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetBackgroundIndexing>(enabled);
}
Result<SearchIndexReport> Search::SetTextTokenizer(TextTokenizer tokenizer) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetTextTokenizer>(tokenizer);
}

Result<EmbeddingSpace> VectorSearch::CreateEmbeddingSpace(const EmbeddingSpaceSpec& spec) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoCreateEmbeddingSpace>(spec);
}
Result<std::vector<EmbeddingSpace>> VectorSearch::ListEmbeddingSpaces() {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoListEmbeddingSpaces>();
}
Status VectorSearch::DropEmbeddingSpace(std::string_view name) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoDropEmbeddingSpace>(name);
}
Status VectorSearch::PutEmbeddings(std::string_view space, const std::vector<EmbeddingInput>& rows) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoPutEmbeddings>(space, rows);
}
Result<bool> VectorSearch::DeleteEmbedding(std::string_view space, std::string_view id) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoDeleteEmbedding>(space, id);
}
Result<std::optional<std::vector<float>>> VectorSearch::GetEmbedding(std::string_view space, std::string_view id) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoGetEmbedding>(space, id);
}
Result<VectorSearchResult> VectorSearch::SearchVectors(const VectorSearchQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSearchVectors>(query);
}
Result<HybridSearchResult> VectorSearch::SearchHybrid(const HybridSearchQuery& query) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSearchHybrid>(query);
}
Status VectorSearch::SetVectorMemoryBudget(int64_t bytes) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoSetVectorMemoryBudget>(bytes);
}
Result<VectorIndexInfo> VectorSearch::CreateVectorIndex(std::string_view space, const VectorIndexSpec& spec) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoCreateVectorIndex>(space, spec);
}
Result<bool> VectorSearch::DropVectorIndex(std::string_view space) {
  return static_cast<ConversationStore*>(this)->impl_->Call<&api::StoreImpl::DoDropVectorIndex>(space);
}

namespace {

template <typename E, size_t N>
Result<E> ParseName(std::string_view name, const char* const (&names)[N], const char* what) {
  for (size_t i = 0; i < N; ++i)
    if (name == names[i]) return static_cast<E>(i);
  std::string all;
  for (size_t i = 0; i < N; ++i) all += (i ? ", " : "") + std::string(names[i]);
  return Status::InvalidArgument(std::string(what) + " must be one of " + all);
}

constexpr const char* kMetricNames[] = {"cosine", "dot", "l2"};
constexpr const char* kQuantizationNames[] = {"none", "int8"};
constexpr const char* kEmbeddingTargetNames[] = {"messages", "conversations"};

template <typename E, size_t N>
const char* NameOf(E value, const char* const (&names)[N]) {
  const auto i = static_cast<size_t>(value);
  return i < N ? names[i] : "unknown";
}

}  // namespace

const char* VectorMetricName(VectorMetric metric) { return NameOf(metric, kMetricNames); }
Result<VectorMetric> ParseVectorMetric(std::string_view name) {
  return ParseName<VectorMetric>(name, kMetricNames, "metric");
}
const char* VectorQuantizationName(VectorQuantization q) { return NameOf(q, kQuantizationNames); }
Result<VectorQuantization> ParseVectorQuantization(std::string_view name) {
  return ParseName<VectorQuantization>(name, kQuantizationNames, "quantization");
}
const char* EmbeddingTargetName(EmbeddingTarget target) { return NameOf(target, kEmbeddingTargetNames); }
Result<EmbeddingTarget> ParseEmbeddingTarget(std::string_view name) {
  return ParseName<EmbeddingTarget>(name, kEmbeddingTargetNames, "target");
}

const char* TextTokenizerName(TextTokenizer tokenizer) {
  switch (tokenizer) {
    case TextTokenizer::kWords: return "words";
    case TextTokenizer::kTrigram: return "trigram";
    case TextTokenizer::kNone: return "none";
  }
  return "unknown";
}

Result<TextTokenizer> ParseTextTokenizer(std::string_view name) {
  for (TextTokenizer t : {TextTokenizer::kWords, TextTokenizer::kTrigram, TextTokenizer::kNone})
    if (name == TextTokenizerName(t)) return t;
  if (name.size() > 32 || !util::IsValidUtf8(name))
    return Status::InvalidArgument("unknown tokenizer: words, trigram or none");
  return Status::InvalidArgument(fmt::format("unknown tokenizer '{}': words, trigram or none", name));
}

}  // namespace convstore
