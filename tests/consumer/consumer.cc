#include <convstore/convstore.hpp>

#include <cstdio>

int main() {
  auto store = convstore::ConversationStore::Open(convstore::ConversationStore::kInMemory);
  if (!store.ok()) return 1;
  convstore::NewConversation nc;
  nc.user_key = "consumer";
  auto conv = (*store)->CreateConversation(nc);
  if (!conv.ok()) return 2;
  convstore::NewMessage m;
  m.content = "hello from an installed convstore";
  if (!(*store)->AddMessage(conv->id, m).ok()) return 3;
  std::printf("consumer: convstore %s, %lld message(s)\n", convstore::Version(),
              static_cast<long long>((*store)->GetConversationInfo(conv->id)->message_count));
  return 0;
}
