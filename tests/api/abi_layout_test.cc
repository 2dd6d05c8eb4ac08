// The C++ ABI of this library version, checked at compile time (docs/architecture.md, "ABI").
//
// ConversationStore is one pointer to a private implementation; its capability bases (Costs, MetadataSearch) are
// empty and non-virtual, so entry points added to any of them leave its size and layout as they are. The public
// records and Options are passed by value, so their sizes are part of the ABI: the sizes below are those of ABI
// version 5 (x86-64, libstdc++). A change that fails one of them changes the ABI: bump CONVSTORE_ABI_VERSION (the
// SONAME) in CMakeLists.txt and record the new sizes here.
#include <type_traits>

#include <gtest/gtest.h>

#include "convstore/store.h"
#include "convstore/version.h"

namespace convstore {
namespace {

static_assert(!std::is_polymorphic_v<ConversationStore>, "no vtable: methods are added without an ABI break");
static_assert(std::is_empty_v<Costs> && !std::is_polymorphic_v<Costs>);
static_assert(std::is_empty_v<MetadataSearch> && !std::is_polymorphic_v<MetadataSearch>);
static_assert(std::is_empty_v<Operations> && !std::is_polymorphic_v<Operations>);
static_assert(std::is_empty_v<Sync> && !std::is_polymorphic_v<Sync>);
static_assert(std::is_empty_v<Audit> && !std::is_polymorphic_v<Audit>);
static_assert(std::is_empty_v<Monitoring> && !std::is_polymorphic_v<Monitoring>);
static_assert(std::is_empty_v<Retention> && !std::is_polymorphic_v<Retention>);
static_assert(std::is_empty_v<Privacy> && !std::is_polymorphic_v<Privacy>);
static_assert(std::is_base_of_v<Costs, ConversationStore> && std::is_base_of_v<MetadataSearch, ConversationStore>);
static_assert(std::is_base_of_v<Operations, ConversationStore> && std::is_base_of_v<Sync, ConversationStore> &&
              std::is_base_of_v<Audit, ConversationStore>);
static_assert(sizeof(ConversationStore) == sizeof(void*), "a pointer to the implementation and nothing else");
static_assert(alignof(ConversationStore) == alignof(void*));

#if defined(__x86_64__) && defined(__GLIBCXX__) && CONVSTORE_ABI_VERSION == 5
  static_assert(sizeof(ConversationStore) == 8);
  static_assert(sizeof(Options) == 144);
  static_assert(sizeof(SyncOptions) == 112);
  static_assert(sizeof(SyncReport) == 136);
  static_assert(sizeof(SyncStatus) == 240);
  static_assert(sizeof(Status) == 40);
  static_assert(sizeof(Team) == 96);
  static_assert(sizeof(TeamInput) == 88);
  static_assert(sizeof(User) == 184);
  static_assert(sizeof(UserInput) == 200);
  static_assert(sizeof(Conversation) == 336);
  static_assert(sizeof(NewConversation) == 240);
  static_assert(sizeof(ConversationUpdate) == 80);
  static_assert(sizeof(ConversationWithMessages) == 368);
  static_assert(sizeof(ConversationPage) == 56);
  static_assert(sizeof(ListConversationsOptions) == 72);
  static_assert(sizeof(Message) == 464);
  static_assert(sizeof(NewMessage) == 400);
  static_assert(sizeof(ToolCall) == 264);
  static_assert(sizeof(NewToolCall) == 200);
  static_assert(sizeof(Price) == 216);
  static_assert(sizeof(PriceInput) == 176);
  static_assert(sizeof(RepriceReport) == 24);
  static_assert(sizeof(ApiUsage) == 512);
  static_assert(sizeof(NewApiUsage) == 472);
  static_assert(sizeof(CostFilter) == 208);
  static_assert(sizeof(CostSummary) == 96);
  static_assert(sizeof(CostGroupResult) == 80);
  static_assert(sizeof(UsageStat) == 144);
  static_assert(sizeof(TeamSpend) == 144);
  static_assert(sizeof(RollupReport) == 72);
  static_assert(sizeof(BudgetInput) == 168);
  static_assert(sizeof(BudgetState) == 224);
  static_assert(sizeof(ReserveRequest) == 80);
  static_assert(sizeof(Reservation) == 208);
  static_assert(sizeof(BudgetAlert) == 80);
  static_assert(sizeof(MetadataQuery) == 216);
  static_assert(sizeof(MetadataSearchResult) == 240);
  static_assert(sizeof(MetadataPlan) == 128);
  static_assert(sizeof(MetadataIndexReport) == 96);
  static_assert(sizeof(ContextOptions) == 24);
  static_assert(sizeof(ToolCallUpdate) == 104);
  static_assert(sizeof(MessageEdit) == 120);
#endif

TEST(AbiLayout, CapabilitiesAreReachedThroughTheStoreAndThroughTheirOwnClass) {
  auto opened = ConversationStore::Open(ConversationStore::kInMemory);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ConversationStore& store = **opened;
  Costs& costs = store;  // a caller that needs only one capability can hold just that
  MetadataSearch& search = store;
  auto prices = costs.ListPrices();
  ASSERT_TRUE(prices.ok()) << prices.status().ToString();
  EXPECT_FALSE(prices->empty());
  auto summary = store.GetCostSummary(CostFilter{});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->total_cost_nanousd, 0);
  auto report = search.VerifyMetadataIndex();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->consistent());
}

TEST(AbiLayout, TheLibraryReportsTheAbiThisHeaderWasBuiltFor) {
  EXPECT_EQ(AbiVersion(), CONVSTORE_ABI_VERSION);
  EXPECT_EQ(CONVSTORE_ABI_VERSION, 5);
}

}  // namespace
}  // namespace convstore
