// The reference V1 `AIDatabase` example on convstore's C++ API: create a conversation, add a user and an assistant message
// with tokens and cost, read it back, list the user's conversations.
//
//   quickstart [path]     (default: convstore-demo.db in the current directory)
#include <convstore/convstore.hpp>

#include <cstdio>
#include <string>

namespace {

std::string Usd(convstore::NanoUsd nano) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.3f", static_cast<double>(nano) / convstore::kNanoUsdPerUsd);
  return buf;
}

int Fail(const convstore::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "convstore-demo.db";
  auto opened = convstore::ConversationStore::Open(path);
  if (!opened.ok()) return Fail(opened.status());
  auto& store = *opened;

  std::printf("convstore %s example on %s\n", convstore::Version(), path.c_str());
  std::printf("============================================================\n");

  const std::string user = "engineer@company.com";
  convstore::NewConversation nc;
  nc.user_key = user;
  nc.title = "BGP Route Analysis";
  nc.metadata_json = R"({"source": "cli", "version": "1.0"})";
  auto conv = store->CreateConversation(nc);
  if (!conv.ok()) return Fail(conv.status());
  std::printf("\n1. Created conversation: %s\n", conv->id.c_str());

  convstore::NewMessage question;
  question.role = convstore::Role::kUser;
  question.content = "Analyze this BGP config and identify potential issues";
  auto m1 = store->AddMessage(conv->id, question);
  if (!m1.ok()) return Fail(m1.status());
  std::printf("   Added user message: %s\n", m1->id.c_str());

  convstore::NewMessage answer;
  answer.role = convstore::Role::kAssistant;
  answer.content = "I found 3 issues: 1) Missing route-map on neighbor...";
  answer.model = "claude-sonnet-4-5";
  answer.tokens_input = 1250;
  answer.tokens_output = 890;
  answer.cost_nanousd = 15'000'000;  // $0.015, exact
  auto m2 = store->AddMessage(conv->id, answer);
  if (!m2.ok()) return Fail(m2.status());
  std::printf("   Added assistant message: %s\n", m2->id.c_str());

  auto full = store->GetConversation(conv->id);
  if (!full.ok()) return Fail(full.status());
  std::printf("\n2. Retrieved conversation:\n");
  std::printf("   Title: %s\n", full->conversation.title.c_str());
  std::printf("   Messages: %lld\n", static_cast<long long>(full->message_count));

  convstore::ListConversationsOptions q;
  q.user_key = user;
  q.limit = 5;
  auto page = store->ListConversations(q);
  if (!page.ok()) return Fail(page.status());
  std::printf("\n3. User's conversations (newest first, %zu shown):\n", page->items.size());
  for (const auto& c : page->items)
    std::printf("   %s: %lld messages, %s cost, %lld tokens in / %lld out\n", c.title.c_str(),
                static_cast<long long>(c.message_count), Usd(c.cost_nanousd).c_str(),
                static_cast<long long>(c.tokens.input), static_cast<long long>(c.tokens.output));

  // The reference example's step 4, from the rollups (no scan of the messages).
  convstore::CostFilter last7;
  last7.user_key = user;
  last7.days = 7;
  auto costs = store->GetCostSummary(last7);
  if (!costs.ok()) return Fail(costs.status());
  std::printf("\n4. Cost summary (last 7 days):\n");
  std::printf("   Total messages: %lld\n", static_cast<long long>(costs->total_messages));
  std::printf("   Total cost: %s\n", Usd(costs->total_cost_nanousd).c_str());
  std::printf("   Avg cost/message: %s\n", Usd(costs->avg_cost_per_message_nanousd).c_str());
  for (const auto& d : costs->daily)
    std::printf("   %s: %lld messages, %s\n", d.date.c_str(), static_cast<long long>(d.message_count),
                Usd(d.cost_nanousd).c_str());

  // A daily budget for the user, and a call admitted (or refused) before it is made.
  auto budget = store->SetBudget({.name = "engineer-daily", .scope = "user", .scope_key = user, .period = "day",
                                  .hard_limit_nanousd = 5 * convstore::kNanoUsdPerUsd});
  if (!budget.ok()) return Fail(budget.status());
  auto reservation = store->Reserve({.request_id = "quickstart-call-" + conv->id, .user_key = user,
                                     .estimated_cost_nanousd = 20'000'000});
  if (reservation.ok()) {
    // ... make the model call, then record what it really used (priced from the catalog: no cost given).
    auto used = store->Settle(reservation->request_id,
                              {.model = "claude-sonnet-4-5", .tokens_input = 900, .tokens_output = 300});
    if (!used.ok()) return Fail(used.status());
    std::printf("\n5. Budgeted call: reserved %s, settled at %s (catalog price)\n",
                Usd(reservation->amount_nanousd).c_str(), Usd(used->cost_nanousd.value_or(0)).c_str());
  } else if (reservation.status().code() == convstore::Code::kBudgetExceeded) {
    std::printf("\n5. Budgeted call refused: %s\n", reservation.status().message().c_str());
  } else {
    return Fail(reservation.status());
  }

  // The reference design's `metadata @> '{"source": "cli"}'` search: newest first, answered from the metadata index.
  convstore::MetadataQuery by_source;
  by_source.contains_json = R"({"source": "cli"})";
  by_source.limit = 5;
  auto found = store->SearchMetadata(by_source);
  if (!found.ok()) return Fail(found.status());
  // A store this small has folded nothing into the posting lists yet: the plan is "tail" (rows checked one by one).
  std::printf("\n6. Conversations whose metadata contains {\"source\": \"cli\"} (plan: %s, %lld row(s) checked "
              "directly):\n",
              found->plan.strategy.c_str(), static_cast<long long>(found->plan.unindexed_checked));
  for (const auto& c : found->conversations) std::printf("   %s  %s\n", c.id.c_str(), c.title.c_str());
  return 0;
}
