// The book chapter's V1 example on convstore's C++ API: create a conversation, add a user and an assistant message
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
  return 0;
}
