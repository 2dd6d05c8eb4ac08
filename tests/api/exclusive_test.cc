// Exclusive mode (Options::exclusive): the handle holds the file alone from open to close — no -shm file, no other
// connection of any process can open the file, an open that cannot have it alone is refused with kBusy naming the
// reason and writes nothing — and every part of the store works on its one connection: writes and reads from many
// threads, checkpoints that keep the WAL bounded, full-text and vector search, optimize, backup, archiving, erasure;
// after Close the file is an ordinary store again.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
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
using testing::TempDir;

Options Exclusive(Options o = {}) {
  o.exclusive = true;
  o.busy_timeout_ms = 200;
  return o;
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// What a plain SQLite connection of another process gets reading the file (its SQLite code), in a forked child that
// touches nothing of convstore.
int ReadFromAnotherProcess(const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(db, 100);
      rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    }
    sqlite3_close(db);
    ::_exit(rc & 0xFF);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Exclusive, HoldsTheFileAloneWithoutAShmFileAndLeavesAnOrdinaryStore) {
  TempDb db;
  std::string conv;
  {
    auto store = OpenOrDie(db.path(), Exclusive());
    auto c = store->CreateConversation({.user_key = "ana@example.com", .title = "alone"});
    ASSERT_OK(c);
    conv = c->id;
    for (int i = 0; i < 50; ++i)
      ASSERT_OK(store->AddMessage(conv, {.role = Role::kUser, .content = "message " + std::to_string(i),
                                         .tokens_input = 10, .cost_nanousd = 1000}));
    EXPECT_TRUE(Exists(db.path() + "-wal"));
    EXPECT_FALSE(Exists(db.path() + "-shm")) << "an exclusive WAL keeps its index in memory";
    EXPECT_EQ(ReadFromAnotherProcess(db.path()), SQLITE_BUSY) << "no other process may even read";
    auto info = store->GetConversationInfo(conv);
    ASSERT_OK(info);
    EXPECT_EQ(info->message_count, 50);
    EXPECT_EQ(info->cost_nanousd, 50'000);
  }
  // Closed: an ordinary store, which any connection reads and a shared open uses — made, as any new file is, with
  // incremental auto-vacuum (optimize gives freed pages back without a VACUUM).
  EXPECT_EQ(ReadFromAnotherProcess(db.path()), SQLITE_OK);
  EXPECT_EQ(testing::QueryInt(db.path(), "PRAGMA auto_vacuum"), 2);
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM messages"), 50);
  auto shared = OpenOrDie(db.path());
  auto page = shared->GetLastMessages(conv, 5);
  ASSERT_OK(page);
  ASSERT_EQ(page->size(), 5u);
  EXPECT_EQ(page->back().content, "message 49");
}

TEST(Exclusive, AnOpenThatCannotHaveTheFileAloneIsRefusedAndWritesNothing) {
  TempDb db;
  std::string conv;
  {
    auto shared = OpenOrDie(db.path());
    conv = testing::AddMessages(*shared, 3);
    // Another handle has the file open (a process's, or this one's): refused, naming why.
    auto refused = ConversationStore::Open(db.path(), Exclusive());
    EXPECT_CODE(refused, Code::kBusy);
    EXPECT_NE(refused.status().message().find("exclusive open needs the file to itself"), std::string::npos)
        << refused.status().ToString();
    // The shared handle goes on as before.
    ASSERT_OK(shared->AddMessage(conv, {.role = Role::kAssistant, .content = "still here"}));
  }
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM messages"), 4);

  // The other way round: while an exclusive handle holds the file, a shared open is refused with a hint.
  auto alone = OpenOrDie(db.path(), Exclusive());
  Options shared_options;
  shared_options.busy_timeout_ms = 200;
  auto second = ConversationStore::Open(db.path(), shared_options);
  EXPECT_CODE(second, Code::kBusy);
  EXPECT_NE(second.status().message().find("exclusive"), std::string::npos) << second.status().ToString();
  // So is a second exclusive one.
  EXPECT_CODE(ConversationStore::Open(db.path(), Exclusive()), Code::kBusy);
  auto info = alone->GetConversationInfo(conv);
  ASSERT_OK(info);
  EXPECT_EQ(info->message_count, 4);
}

TEST(Exclusive, BadCombinationsAreRefused) {
  TempDb db;
  { OpenOrDie(db.path()); }
  Options o = Exclusive();
  o.read_only = true;
  auto refused = ConversationStore::Open(db.path(), o);
  EXPECT_CODE(refused, Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("exclusive and read_only"), std::string::npos);
  // A missing file without create_if_missing: kNotFound, and nothing created.
  TempDir dir;
  Options missing = Exclusive();
  missing.create_if_missing = false;
  EXPECT_CODE(ConversationStore::Open(dir / "none.db", missing), Code::kNotFound);
  EXPECT_FALSE(Exists(dir / "none.db"));
  // An in-memory store is exclusive by nature: the option changes nothing.
  auto memory = OpenOrDie(ConversationStore::kInMemory, Exclusive());
  EXPECT_EQ(testing::AddMessages(*memory, 2).size(), 36u);
}

TEST(Exclusive, ReadsAndWritesFromManyThreadsShareTheOneConnection) {
  TempDb db;
  auto store = OpenOrDie(db.path(), Exclusive());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(conv);
  const int per_thread = testing::EnvCount("CONVSTORE_EXCLUSIVE_WRITES", 300);
  std::atomic<bool> done{false};
  std::atomic<int64_t> failures{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto last = store->GetLastMessages(conv->id, 10);
      auto listed = store->ListConversations({.user_key = "ana@example.com"});
      if (!last.ok() || !listed.ok()) failures.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        if (!store->AddMessage(conv->id, {.role = Role::kUser, .content = std::to_string(t) + ":" + std::to_string(i),
                                          .tokens_output = 2})
                 .ok())
          failures.fetch_add(1);
    });
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  auto info = store->GetConversationInfo(conv->id);
  ASSERT_OK(info);
  EXPECT_EQ(info->message_count, 3 * per_thread);
  EXPECT_EQ(info->tokens.output, 6 * per_thread);
  auto rollups = store->VerifyRollups();
  ASSERT_OK(rollups);
  EXPECT_EQ(rollups->differences, 0);
}

TEST(Exclusive, CheckpointsInTheCommittingThreadKeepTheWalBounded) {
  TempDb db;
  auto store = OpenOrDie(db.path(), Exclusive());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(conv);
  // About 40 MiB of messages through a WAL whose checkpoints start at 4,000 frames (16 MiB).
  const std::vector<NewMessage> batch(100, NewMessage{.role = Role::kUser, .content = std::string(4000, 'w')});
  int64_t largest = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(store->AddMessages(conv->id, batch));
    largest = std::max(largest, FileBytes(db.path() + "-wal"));
  }
  EXPECT_LT(largest, int64_t{32} << 20) << "the WAL started again after its checkpoints";
  auto stats = store->Stats();
  ASSERT_OK(stats);
  EXPECT_GT(stats->checkpoints, 0);
  auto info = store->GetConversationInfo(conv->id);
  ASSERT_OK(info);
  EXPECT_EQ(info->message_count, 10'000);
}

TEST(Exclusive, SearchOptimizeBackupAndErasureWorkOnTheOneConnection) {
  TempDb db;
  TempDir dir;
  auto store = OpenOrDie(db.path(), Exclusive());
  auto conv = store->CreateConversation({.user_key = "ana@example.com", .title = "tides"});
  ASSERT_OK(conv);
  ASSERT_OK(store->AddMessage(conv->id, {.role = Role::kUser, .content = "when is the spring tide"}));
  ASSERT_OK(store->AddMessage(conv->id, {.role = Role::kAssistant, .content = "at the new and full moon"}));
  auto other = store->CreateConversation({.user_key = "bo@example.com", .title = "other"});
  ASSERT_OK(other);
  auto bo_message = store->AddMessage(other->id, {.role = Role::kUser, .content = "a tide table for bo"});
  ASSERT_OK(bo_message);

  auto found = store->SearchText({.text = "tide"});
  ASSERT_OK(found);
  EXPECT_EQ(found->hits.size(), 2u);

  ASSERT_OK(store->CreateEmbeddingSpace({.name = "s", .dimension = 2, .metric = VectorMetric::kL2}));
  ASSERT_OK(store->PutEmbeddings("s", {{.id = bo_message->id, .vector = {1, 0}}}));
  auto near = store->SearchVectors({.space = "s", .vector = {1, 0.1f}, .k = 3});
  ASSERT_OK(near);
  ASSERT_EQ(near->hits.size(), 1u);

  auto optimized = store->Optimize({.vacuum = true});
  ASSERT_OK(optimized);
  EXPECT_TRUE(optimized->vacuumed);
  EXPECT_TRUE(optimized->wal_truncated);
  EXPECT_FALSE(Exists(db.path() + "-shm"));

  auto backup = store->Backup({.path = dir / "b.db"});
  ASSERT_OK(backup);
  auto verified = VerifyBackup(backup->path);
  ASSERT_OK(verified);
  EXPECT_TRUE(verified->ok);

  // Archiving: its base backup is copied on the one connection too, then the journal ships.
  auto archived = store->ArchiveNow({.directory = dir / "archive"});
  ASSERT_OK(archived);
  EXPECT_TRUE(archived->base_backup_taken);
  ASSERT_OK(store->AddMessage(conv->id, {.role = Role::kUser, .content = "and the neap tide"}));
  auto shipped = store->ArchiveNow({.directory = dir / "archive"});
  ASSERT_OK(shipped);
  EXPECT_GT(shipped->entries_shipped, 0);

  auto erased = store->EraseUser("bo@example.com");
  ASSERT_OK(erased);
  EXPECT_EQ(erased->messages, 1);
  EXPECT_TRUE(erased->pending.empty()) << erased->pending.front();
  auto after = store->SearchText({.text = "tide"});
  ASSERT_OK(after);
  EXPECT_EQ(after->hits.size(), 2u);  // ana's two; bo's is gone

  // The backup restores to an ordinary store holding what the handle held when it was taken.
  ASSERT_OK(RestoreBackup(backup->path, dir / "restored.db"));
  auto restored = OpenOrDie(dir / "restored.db");
  auto listed = restored->ListConversations({.user_key = "ana@example.com"});
  ASSERT_OK(listed);
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0].message_count, 2);
}

}  // namespace
}  // namespace convstore
