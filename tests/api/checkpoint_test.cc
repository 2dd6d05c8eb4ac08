// The background checkpointer (src/sqlite/checkpointer.h): under a sustained single writer with this process's own
// readers beside it — short reads and whole-conversation reads — the WAL keeps starting again instead of growing,
// every acknowledged message is there, and closing leaves a file another connection reads whole.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace convstore {
namespace {

using testing::FileBytes;
using testing::OpenOrDie;
using testing::TempDb;

TEST(BackgroundCheckpoints, TheWalStaysBoundedUnderThisProcesssReadsAndNothingIsLost) {
  const int writes = testing::EnvCount("CONVSTORE_CHECKPOINT_WRITES", 20000);
  TempDb db;
  auto store = OpenOrDie(db.path());  // every engine on, background checkpoints on: the defaults
  auto conv = store->CreateConversation({.user_key = "ana@example.com", .title = "checkpoints"});
  ASSERT_OK(conv);
  // What the long reads read: a conversation of 3,000 messages of 2 KB (6 MB).
  auto long_conv = store->CreateConversation({.user_key = "ana@example.com", .title = "long reads"});
  ASSERT_OK(long_conv);
  {
    std::vector<NewMessage> batch(500, NewMessage{.role = Role::kUser, .content = std::string(2000, 'r')});
    for (int i = 0; i < 6; ++i) ASSERT_OK(store->AddMessages(long_conv->id, batch));
  }

  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0}, failed_reads{0};
  std::vector<std::thread> readers;
  // Short reads, back to back.
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      while (!done.load()) {
        bool ok = store->GetLastMessages(conv->id, 20).ok() &&
                  store->ListConversations({.user_key = "ana@example.com"}).ok() &&
                  store->GetConversationInfo(conv->id).ok();
        (ok ? reads : failed_reads).fetch_add(1);
      }
    });
  // Long reads, back to back: the whole of the long conversation.
  readers.emplace_back([&] {
    while (!done.load()) {
      auto whole = store->GetConversation(long_conv->id);
      (whole.ok() ? reads : failed_reads).fetch_add(1);
    }
  });

  const std::string filler(2000, 'w');
  int64_t most_wal = 0;
  for (int i = 0; i < writes; ++i) {
    auto m = store->AddMessage(conv->id, {.role = Role::kUser, .content = std::to_string(i) + filler});
    ASSERT_OK(m);
    if (i % 50 == 0) most_wal = std::max(most_wal, FileBytes(db.path() + "-wal"));
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(failed_reads.load(), 0);
  EXPECT_GT(reads.load(), 0);

  // About 2 KiB and several index pages per message: the workload writes several times the WAL's bound, so the
  // WAL must have started again (not grown) for it to stay within it. The bound: the frames at which the
  // committing thread would checkpoint itself (16,000 of 4 KiB plus their headers), plus one transaction.
  const int64_t bound = int64_t{16000} * (4096 + 24) + (int64_t{1} << 20);
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  EXPECT_GT(stats->cache_writes * 4096, 2 * bound) << "the workload is too small to show a bound";
  EXPECT_LE(most_wal, bound);
  EXPECT_GE(stats->checkpoints, 1);
  std::printf("%d writes, %lld pages written, WAL at most %.1f MiB, %lld checkpoints, %lld reads beside\n", writes,
              static_cast<long long>(stats->cache_writes), static_cast<double>(most_wal) / (1 << 20),
              static_cast<long long>(stats->checkpoints), static_cast<long long>(reads.load()));

  auto info = store->GetConversationInfo(conv->id);
  ASSERT_OK(info);
  EXPECT_EQ(info->message_count, writes);
  ASSERT_OK(store->Close());
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM messages"), writes + 3000);
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"),
            0);
}

// Turned off, the commit that fills the WAL checkpoints in its own thread: the WAL stays bounded all the same.
TEST(BackgroundCheckpoints, OffTheCommittingThreadCheckpoints) {
  TempDb db;
  auto store = OpenOrDie(db.path(), testing::NoBackgroundThreads());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(conv);
  const std::string big(16 * 1024, 'x');
  std::vector<NewMessage> batch(100, NewMessage{.role = Role::kUser, .content = big});
  int64_t most_wal = 0;
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK(store->AddMessages(conv->id, batch));
    most_wal = std::max(most_wal, FileBytes(db.path() + "-wal"));
  }
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  EXPECT_GE(stats->checkpoints, 1);  // counted before the commit returned
  EXPECT_LE(most_wal, int64_t{4000 + 600} * (4096 + 24));
}

}  // namespace
}  // namespace convstore
