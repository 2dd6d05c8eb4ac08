// One handle from many threads, and several processes on one file: nothing lost, nothing duplicated, no busy error.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
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
  EXPECT_EQ(QueryInt(db.path(), std::string("SELECT message_count FROM ") + testing::kConversationsAsRead), expected);
  EXPECT_EQ(QueryInt(db.path(), std::string("SELECT tokens_input FROM ") + testing::kConversationsAsRead), expected);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(DISTINCT position) FROM messages"), expected);
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(position) FROM messages"), expected - 1);
}

double StressSeconds() {
  const char* env = std::getenv("CONVSTORE_STRESS_SECONDS");
  return env != nullptr ? std::atof(env) : 2.0;
}

// 8 threads, each mixing single writes (some retried by request_id), batches and every kind of read, for a
// bounded time on one handle: every acknowledged message is stored exactly once and the counters are exact.
TEST(ConcurrencyTest, EightThreadsMixedLoadForABoundedTime) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  constexpr int kThreads = 8;
  std::vector<std::string> convs;
  for (int i = 0; i < 4; ++i)
    convs.push_back(store->CreateConversation(NewConversation{.user_key = "mix" + std::to_string(i % 2)})->id);
  std::vector<std::vector<int64_t>> acked(kThreads, std::vector<int64_t>(convs.size(), 0));
  std::atomic<int> failures{0};
  std::atomic<int64_t> reads{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(StressSeconds());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int k = 0; std::chrono::steady_clock::now() < deadline; ++k) {
        size_t c = rng() % convs.size();
        switch (rng() % 6) {
          case 0:
          case 1: {
            NewMessage m{.content = "t" + std::to_string(t) + "-" + std::to_string(k), .tokens_input = 3,
                         .cost_nanousd = 7};
            if (k % 4 == 0) m.request_id = "mix-" + std::to_string(t) + "-" + std::to_string(k);
            auto r = store->AddMessage(convs[c], m);
            if (!r.ok()) { ++failures; ADD_FAILURE() << r.status().ToString(); break; }
            ++acked[static_cast<size_t>(t)][c];
            if (!m.request_id.empty()) {  // a retry returns the same message and counts nothing
              auto again = store->AddMessage(convs[c], m);
              if (!again.ok() || again->id != r->id) ++failures;
            }
            break;
          }
          case 2: {
            std::vector<NewMessage> batch(1 + rng() % 8, NewMessage{.content = "b", .tokens_input = 3, .cost_nanousd = 7});
            auto r = store->AddMessages(convs[c], batch);
            if (!r.ok()) { ++failures; ADD_FAILURE() << r.status().ToString(); break; }
            acked[static_cast<size_t>(t)][c] += static_cast<int64_t>(batch.size());
            break;
          }
          case 3: {
            auto got = store->GetConversation(convs[c]);
            if (!got.ok() || got->conversation.message_count != static_cast<int64_t>(got->messages.size()) ||
                got->conversation.cost_nanousd != 7 * got->conversation.message_count)
              ++failures;
            ++reads;
            break;
          }
          case 4: {
            if (!store->ListConversations(ListConversationsOptions{.user_key = "mix" + std::to_string(c % 2)}).ok())
              ++failures;
            ++reads;
            break;
          }
          default:
            if (!store->GetContext(convs[c], 50).ok()) ++failures;
            ++reads;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  int64_t total = 0;
  for (size_t c = 0; c < convs.size(); ++c) {
    int64_t expected = 0;
    for (int t = 0; t < kThreads; ++t) expected += acked[static_cast<size_t>(t)][c];
    total += expected;
    auto info = store->GetConversationInfo(convs[c]);
    ASSERT_OK(info);
    EXPECT_EQ(info->message_count, expected);
    EXPECT_EQ(info->tokens.input, 3 * expected);
    EXPECT_EQ(info->cost_nanousd, 7 * expected);
  }
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), total);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM (SELECT conversation_id FROM messages GROUP BY conversation_id "
                                "HAVING max(position) + 1 != count(*) OR count(DISTINCT position) != count(*))"),
            0);
  std::printf("mixed load: %lld messages acknowledged and verified, %lld reads, 8 threads, %.1f s\n",
              static_cast<long long>(total), static_cast<long long>(reads.load()), StressSeconds());
}

// Three processes writing to one file for a bounded time: nothing lost, nothing duplicated, no busy error.
TEST(ConcurrencyTest, ThreeProcessesForABoundedTime) {
  TempDb db;
  std::string conv;
  {
    auto store = OpenOrDie(db.path());
    conv = store->CreateConversation(NewConversation{.user_key = "procs"})->id;
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<pid_t> kids;
  for (int p = 0; p < 3; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      int64_t acked = 0;
      int rc = 0;
      {
        auto s = ConversationStore::Open(db.path());
        if (!s.ok()) ::_exit(2);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(StressSeconds());
        for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
          NewMessage m{.content = "p" + std::to_string(p) + "-" + std::to_string(i), .tokens_output = 1};
          auto r = i % 3 == 2 ? (*s)->AddMessages(conv, {m, m}).status() : (*s)->AddMessage(conv, m).status();
          if (!r.ok()) {
            std::fprintf(stderr, "process %d: %s\n", p, r.ToString().c_str());
            rc = 3;
            break;
          }
          acked += i % 3 == 2 ? 2 : 1;
        }
      }
      if (::write(fds[1], &acked, sizeof acked) != sizeof acked) rc = 4;
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  ::close(fds[1]);
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer process failed";
  }
  int64_t total = 0, n = 0;
  while (::read(fds[0], &n, sizeof n) == sizeof n) total += n;
  ::close(fds[0]);
  EXPECT_GT(total, 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), total);
  EXPECT_EQ(QueryInt(db.path(), std::string("SELECT message_count FROM ") + testing::kConversationsAsRead), total);
  EXPECT_EQ(QueryInt(db.path(), std::string("SELECT tokens_output FROM ") + testing::kConversationsAsRead), total);
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(position) + 1 FROM messages"), total);
  std::printf("3 processes: %lld messages acknowledged and verified in %.1f s\n", static_cast<long long>(total),
              StressSeconds());
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
  // No background thread in the parent: ThreadSanitizer cannot follow a child that starts threads (the fresh open's)
  // after a fork of a multi-threaded process. The forks of a store with its threads running are fork_test's.
  auto store = OpenOrDie(db.path(), testing::NoBackgroundThreads());
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
