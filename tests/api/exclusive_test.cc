// Exclusive mode (Options::exclusive): the handle holds the file alone from open to close — no -shm file, no
// other process can open the file, nor another handle of this one, an open that cannot have it alone is refused
// with kBusy naming the reason and writes nothing — and every part of the store works with reads on its writer:
// writes and reads from many threads, background checkpoints that keep the WAL bounded, full-text and vector
// search, optimize, backup, archiving, erasure; after Close the file is an ordinary store again.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "convstore/ops.h"
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

// What a plain SQLite connection of another process gets reading the file (its SQLite code): a new program (a
// forked child alone would share this process's SQLite state, lock bookkeeping included), Python's sqlite3.
int ReadFromAnotherProcess(const std::string& path) {
  static const char* kScript =
      "import sqlite3, sys\n"
      "try:\n"
      "    db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=0.1)\n"
      "    db.execute('SELECT count(*) FROM sqlite_schema').fetchall()\n"
      "except sqlite3.Error as e:\n"
      "    sys.exit(e.sqlite_errorcode & 0xFF)\n";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/usr/bin/python3", "python3", "-c", kScript, path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Adds `batches` batches of 100 messages of 4,000 bytes to `conv`; the WAL's largest size meanwhile (-1 on a
// failure, reported).
int64_t LargestWalWhileAdding(ConversationStore& store, const std::string& path, const std::string& conv,
                              int batches) {
  const std::vector<NewMessage> batch(100, NewMessage{.role = Role::kUser, .content = std::string(4000, 'w')});
  int64_t largest = 0;
  for (int i = 0; i < batches; ++i) {
    Status added = store.AddMessages(conv, batch).status();
    EXPECT_TRUE(added.ok()) << added.ToString();
    if (!added.ok()) return -1;
    largest = std::max(largest, FileBytes(path + "-wal"));
  }
  return largest;
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
  // So is a second exclusive one, a read-only one, and the tools that open the file by its path: any other
  // connection in this process would share (and, closing, drop) the process's lock on the file.
  EXPECT_CODE(ConversationStore::Open(db.path(), Exclusive()), Code::kBusy);
  Options read_only;
  read_only.read_only = true;
  EXPECT_CODE(ConversationStore::Open(db.path(), read_only), Code::kBusy);
  EXPECT_CODE(InspectStore(db.path()), Code::kBusy);
  EXPECT_CODE(CheckStore(db.path()), Code::kBusy);
  EXPECT_EQ(ReadFromAnotherProcess(db.path()), SQLITE_BUSY);
  auto info = alone->GetConversationInfo(conv);
  ASSERT_OK(info);
  EXPECT_EQ(info->message_count, 4);
}

// A forked child inherits SQLite's record that its process holds the file, and a copy of the WAL index: a
// connection it opened would share that stale hold, so the file stays refused in the child, even after it closed
// the store it inherited.
TEST(Exclusive, AForkedChildCannotOpenTheFileItsParentHolds) {
  TempDb db;
  auto store = OpenOrDie(db.path(), Exclusive());
  const std::string conv = testing::AddMessages(*store, 3);
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 0;
    if (!store->Close().ok()) code |= 1;
    auto shared = ConversationStore::Open(db.path(), Options{});
    if (shared.ok() || shared.status().code() != Code::kBusy) code |= 2;
    auto exclusive = ConversationStore::Open(db.path(), Exclusive());
    if (exclusive.ok() || exclusive.status().code() != Code::kBusy) code |= 4;
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_OK(store->AddMessage(conv, {.role = Role::kAssistant, .content = "the parent goes on"}));
  auto info = store->GetConversationInfo(conv);
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

TEST(Exclusive, TheBackgroundCheckpointerKeepsTheWalBoundedAndTheFileHeld) {
  TempDb db;
  auto store = OpenOrDie(db.path(), Exclusive());
  // About 80 MiB of messages through a WAL that the checkpointer copies back from 4,000 frames (16 MiB) on, and
  // the writer itself from 16,000 should the checkpointer fall behind: as in a shared store.
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(conv);
  const int64_t largest = LargestWalWhileAdding(*store, db.path(), conv->id, 200);
  EXPECT_GE(largest, 0);
  EXPECT_LE(largest, int64_t{16000} * (4096 + 24) + (int64_t{1} << 20)) << "the WAL started again";
  auto stats = store->Stats();
  ASSERT_OK(stats);
  EXPECT_GT(stats->checkpoints, 0);
  // The checkpointer's own connection shares the in-memory WAL index and keeps the file this process's alone.
  EXPECT_FALSE(Exists(db.path() + "-shm"));
  EXPECT_EQ(ReadFromAnotherProcess(db.path()), SQLITE_BUSY);
  auto info = store->GetConversationInfo(conv->id);
  ASSERT_OK(info);
  EXPECT_EQ(info->message_count, 20'000);
}

// Without the background checkpointer, the commit that fills the WAL checkpoints in its own thread.
TEST(Exclusive, WithoutBackgroundThreadsCommitsCheckpointAndTheWalStaysBounded) {
  TempDb db;
  auto store = OpenOrDie(db.path(), Exclusive(testing::NoBackgroundThreads()));
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(conv);
  const int64_t largest = LargestWalWhileAdding(*store, db.path(), conv->id, 100);
  EXPECT_GE(largest, 0);
  EXPECT_LE(largest, int64_t{4000 + 600} * (4096 + 24));
  auto stats = store->Stats({.saved = false});
  ASSERT_OK(stats);
  EXPECT_GE(stats->checkpoints, 1);
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
