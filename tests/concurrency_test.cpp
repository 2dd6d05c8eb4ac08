// One handle from many threads, and several processes on one file: nothing lost, nothing duplicated, no busy error.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

TEST(ConcurrencyTest, ManyThreadsOneHandleReadsAndWrites) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  constexpr int kWriters = 6, kReaders = 2, kPerWriter = 300;
  std::vector<std::string> convs;
  for (int w = 0; w < kWriters; ++w)
    convs.push_back(store->CreateConversation(NewConversation{.user_key = "u" + std::to_string(w % 2)})->id);

  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        NewMessage m;
        m.role = Role::kAssistant;
        m.content = "w" + std::to_string(w) + "-" + std::to_string(i);
        m.tokens_output = 2;
        m.cost_nanousd = 5;
        if (i % 3 == 0) m.request_id = "w" + std::to_string(w) + "-r" + std::to_string(i);
        auto r = store->AddMessage(convs[static_cast<size_t>(w)], m);
        if (!r.ok()) {
          ADD_FAILURE() << r.status().ToString();
          ++failures;
        }
        if (i % 3 == 0 && !store->AddMessage(convs[static_cast<size_t>(w)], m).ok()) ++failures;  // retry: no-op
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      while (!writers_done.load()) {
        for (const auto& id : convs) {
          auto got = store->GetConversation(id);
          if (!got.ok()) { ++failures; continue; }
          // One snapshot: the counter equals the number of messages read with it.
          if (got->conversation.message_count != static_cast<int64_t>(got->messages.size())) ++failures;
          if (got->conversation.cost_nanousd != 5 * got->conversation.message_count) ++failures;
        }
        auto page = store->ListConversations(ListConversationsOptions{.user_key = "u" + std::to_string(r)});
        if (!page.ok()) ++failures;
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[static_cast<size_t>(w)].join();
  writers_done = true;
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& id : convs) {
    auto got = store->GetConversation(id);
    ASSERT_OK(got);
    EXPECT_EQ(got->message_count, kPerWriter);
    EXPECT_EQ(got->conversation.tokens.output, 2 * kPerWriter);
    for (int i = 0; i < kPerWriter; ++i) EXPECT_EQ(got->messages[static_cast<size_t>(i)].position, i);
  }
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), kWriters * kPerWriter);
}

TEST(ConcurrencyTest, ThreeProcessesWritingOneFile) {
  TempDb db;
  std::string conv;
  {
    auto store = OpenOrDie(db.path());
    conv = store->CreateConversation(NewConversation{.user_key = "shared"})->id;
  }
  constexpr int kProcs = 3, kPerProc = 200;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 0;
      {
        Options o;
        o.busy_timeout_ms = 10000;
        auto s = ConversationStore::Open(db.path(), o);
        if (!s.ok()) ::_exit(2);
        for (int i = 0; i < kPerProc && rc == 0; ++i) {
          NewMessage m;
          m.content = "p" + std::to_string(p) + "-" + std::to_string(i);
          m.tokens_input = 1;
          if (i % 2 == 0) {
            if (auto r = (*s)->AddMessage(conv, m); !r.ok()) {
              std::fprintf(stderr, "child %d: %s\n", p, r.status().ToString().c_str());
              rc = 3;
            }
          } else {
            NewMessage m2 = m;
            m2.content += "b";
            if (auto r = (*s)->AddMessages(conv, {m, m2}); !r.ok()) {
              std::fprintf(stderr, "child %d: %s\n", p, r.status().ToString().c_str());
              rc = 4;
            }
          }
        }
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child failed (2 open, 3 add, 4 batch)";
  }
  // Each process: 100 singles + 100 batches of 2.
  const int64_t expected = kProcs * (kPerProc / 2 + kPerProc);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), expected);
  EXPECT_EQ(QueryInt(db.path(), "SELECT message_count FROM conversations"), expected);
  EXPECT_EQ(QueryInt(db.path(), "SELECT tokens_input FROM conversations"), expected);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(DISTINCT position) FROM messages"), expected);
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(position) FROM messages"), expected - 1);
}

// Group commit: concurrent writes share transactions; one that fails inside the transaction (a request_id
// conflict) is rolled back alone while the others in its group commit.
TEST(ConcurrencyTest, FailingWriteInAGroupDoesNotTakeOthersDown) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto a = store->CreateConversation(NewConversation{.user_key = "a"})->id;
  auto b = store->CreateConversation(NewConversation{.user_key = "b"})->id;
  ASSERT_OK(store->AddMessage(a, NewMessage{.content = "owner", .request_id = "taken"}));
  constexpr int kThreads = 8, kEach = 150;
  std::atomic<int> ok{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        NewMessage m;
        m.content = "t" + std::to_string(t) + "-" + std::to_string(i);
        m.cost_nanousd = 1;
        if (t % 2 == 1 && i % 5 == 0) m.request_id = "taken";  // conflicts: belongs to conversation a
        auto r = store->AddMessage(b, m);
        if (r.ok()) ++ok;
        else if (r.status().code() == Code::kConflict) ++conflicts;
        else ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(conflicts.load(), (kThreads / 2) * (kEach / 5));
  EXPECT_EQ(ok.load() + conflicts.load(), kThreads * kEach);
  auto info = store->GetConversationInfo(b);
  EXPECT_EQ(info->message_count, ok.load());
  EXPECT_EQ(info->cost_nanousd, ok.load());
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages WHERE conversation_id = 2"), ok.load());
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(position) + 1 FROM messages WHERE conversation_id = 2"), ok.load());
}

TEST(ConcurrencyTest, AStoreOpenedBeforeForkIsClosedInTheChild) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation(NewConversation{.user_key = "f"})->id;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The inherited handle refuses to touch the parent's connections; a fresh open works.
    int rc = store->AddMessage(conv, NewMessage{.content = "child"}).status().code() == Code::kClosed ? 0 : 1;
    if (rc == 0) {
      auto fresh = ConversationStore::Open(db.path());
      rc = fresh.ok() && (*fresh)->AddMessage(conv, NewMessage{.content = "child, reopened"}).ok() ? 0 : 2;
    }
    (void)store->Close();  // abandons the inherited connections without closing them
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_OK(store->AddMessage(conv, NewMessage{.content = "parent"}));
  auto got = store->GetConversation(conv);
  ASSERT_OK(got);
  ASSERT_EQ(got->messages.size(), 2u);
  EXPECT_EQ(got->messages[0].content, "child, reopened");
}

TEST(ConcurrencyTest, CloseWaitsForCallsAndLaterCallsFail) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation(NewConversation{.user_key = "c"})->id;
  std::atomic<int> ok{0}, closed{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto r = store->AddMessage(conv, NewMessage{.content = "x"});
        if (r.ok()) ++ok;
        else if (r.status().code() == Code::kClosed) ++closed;
        else ++other;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_OK(store->Close());
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + closed.load(), 800);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), ok.load());
}

}  // namespace
}  // namespace convstore
