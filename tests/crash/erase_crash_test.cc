// kill -9 during an erasure: a child process erases a user who has 40 conversations of 50 messages (markers in
// every field) while a thread of it keeps writing another user's messages, and is SIGKILLed at a random moment.
// The parent opens the store again (which finishes a pending erasure) and checks: the user is either whole (the
// erasure had not committed) or gone — no row, and none of their markers in any byte of the database, its WAL or
// its shared-memory file — the rollups verify with the spend unchanged, the audit chain and the metadata index
// verify, and the other user's acknowledged messages are there. Each kill starts from a fresh copy of one store.
//
// The same for an import of the user's export after their erasure: they are back whole or not at all.
//
// CONVSTORE_ERASE_KILLS sets the number of kills of each (default 30).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "convstore/convstore.hpp"
#include "kill_child.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDir;

constexpr const char* kMarker = "ZQXkillgoneQXZ";
const std::string kUser = std::string(kMarker) + "@example.com";

int Kills() {
  const char* env = std::getenv("CONVSTORE_ERASE_KILLS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 30;
}

std::string FileBytes(const std::string& db) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::ifstream in(db + suffix, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    all += s.str();
  }
  return all;
}

// The child: a thread adds acknowledged messages to the other user's live conversation (each reported through `fd`)
// while `act` runs (an erasure or an import); then it waits for the kill.
[[noreturn]] void RunChild(const std::string& db, const std::string& live, int fd,
                           const std::function<bool(ConversationStore&)>& act) {
  auto opened = ConversationStore::Open(db);
  if (!opened.ok()) ::_exit(3);
  auto& store = *opened;
  std::thread writer([&] {
    for (int k = 0;; ++k) {
      const std::string id = "live-" + std::to_string(::getpid()) + "-" + std::to_string(k);
      if (!store->AddMessage(live, {.content = "kept", .cost_nanousd = 10, .request_id = id}).ok()) ::_exit(4);
      const std::string line = id + "\n";
      if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(6);
    }
  });
  if (!act(*store)) ::_exit(5);
  for (;;) ::pause();  // done: wait for the kill
}

std::set<std::string> Acknowledged(const std::string& reports) {
  std::set<std::string> ids;
  std::istringstream in(reports);
  for (std::string id; in >> id;) ids.insert(id);
  return ids;
}

// What holds after every kill, whatever the child was doing: the rollups verify, the spend is what was there plus
// the live messages written since, the audit chain and the metadata index verify, and every acknowledged live
// message is there.
void ExpectConsistent(ConversationStore& store, const std::string& db, NanoUsd spent_before,
                      const std::set<std::string>& acknowledged) {
  auto rollups = store.VerifyRollups();
  ASSERT_OK(rollups);
  EXPECT_EQ(rollups->differences, 0);
  const int64_t live_messages =
      QueryInt(db, "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                   " WHERE c.title = 'kept'");
  EXPECT_EQ(store.GetCostSummary({.days = 30})->total_cost_nanousd, spent_before + 10 * live_messages);
  auto audit = store.VerifyAudit();
  ASSERT_OK(audit);
  EXPECT_TRUE(audit->ok) << audit->problem;
  auto index = store.VerifyMetadataIndex();
  ASSERT_OK(index);
  EXPECT_TRUE(index->consistent());
  for (const std::string& id : acknowledged)
    EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM messages WHERE request_id = '" + id + "'"), 1) << id;
}

void RemoveDb(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

TEST(EraseCrash, AKilledErasureLeavesTheUserWholeOrGoneFromEveryFile) {
  TempDir dir;
  const std::string original = dir / "original.db";
  std::string live;
  NanoUsd spent_before = 0;
  {
    auto store = OpenOrDie(original);
    for (int c = 0; c < 40; ++c) {
      auto conv = store->CreateConversation({.user_key = kUser, .title = std::string(kMarker) + " title",
                                             .metadata_json = std::string(R"({"topic":")") + kMarker + "\"}"});
      ASSERT_OK(conv);
      std::vector<NewMessage> batch;
      for (int i = 0; i < 50; ++i)
        batch.push_back({.content = std::string(kMarker) + " content " + std::to_string(i), .cost_nanousd = 7,
                         .metadata_json = std::string(R"({"tag":")") + kMarker + "\"}"});
      ASSERT_OK(store->AddMessages(conv->id, batch));
    }
    auto other = store->CreateConversation({.user_key = "other@example.com", .title = "kept"});
    ASSERT_OK(other);
    live = other->id;
    spent_before = store->GetCostSummary({.days = 30})->total_cost_nanousd;
  }
  std::mt19937 rng(4711);
  int erased = 0, whole = 0;
  const int kills = Kills();
  for (int k = 0; k < kills; ++k) {
    SCOPED_TRACE("kill " + std::to_string(k));
    const std::string db = dir / ("run-" + std::to_string(k) + ".db");
    std::filesystem::copy_file(original, db);
    const std::string reports = testing::RunAndKill(
        [&](int fd) { RunChild(db, live, fd, [](ConversationStore& s) { return s.EraseUser(kUser).ok(); }); },
        static_cast<useconds_t>(2000 + rng() % 150000));
    if (::testing::Test::HasFailure()) break;

    auto store = OpenOrDie(db);  // finishes a pending erasure
    const bool gone = !store->GetUser(kUser).ok();
    if (gone) {
      ++erased;
      auto erasures = store->ListErasures();
      ASSERT_OK(erasures);
      ASSERT_EQ(erasures->size(), 1u);
      EXPECT_TRUE((*erasures)[0].finished_at.has_value());
      EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM conversations WHERE title LIKE '%ZQXkill%'"), 0);
    } else {
      ++whole;
      EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM messages WHERE content LIKE '%ZQXkill%'"), 2000);
    }
    ExpectConsistent(*store, db, spent_before, Acknowledged(reports));
    ASSERT_OK(store->Close());
    if (gone) {
      EXPECT_EQ(FileBytes(db).find(kMarker), std::string::npos) << "a byte of the erased user is left";
    }
    RemoveDb(db);
    if (::testing::Test::HasFailure()) break;
  }
  std::printf("erase crash test: %d kills: %d erasures had committed, %d had not\n", kills, erased, whole);
}

// The same user exported, erased, then imported back by a process killed at a random moment: they are back whole
// (2,000 messages, the spend moved back from the retained cost) or not at all, and everything verifies.
TEST(EraseCrash, AKilledImportLeavesTheUserBackWholeOrNotAtAll) {
  TempDir dir;
  const std::string original = dir / "original.db";
  const std::string file = dir / "user.jsonl";
  std::string live;
  NanoUsd spent_before = 0;
  {
    auto store = OpenOrDie(original);
    for (int c = 0; c < 40; ++c) {
      auto conv = store->CreateConversation({.user_key = kUser, .metadata_json = R"({"topic":"bgp"})"});
      ASSERT_OK(conv);
      std::vector<NewMessage> batch;
      for (int i = 0; i < 50; ++i)
        batch.push_back({.content = "content " + std::to_string(i), .cost_nanousd = 7,
                         .metadata_json = R"({"tag":"x"})"});
      ASSERT_OK(store->AddMessages(conv->id, batch));
    }
    auto other = store->CreateConversation({.user_key = "other@example.com", .title = "kept"});
    ASSERT_OK(other);
    live = other->id;
    ASSERT_OK(store->ExportUser(kUser, {.path = file}));
    ASSERT_OK(store->EraseUser(kUser));
    spent_before = store->GetCostSummary({.days = 30})->total_cost_nanousd;
  }
  std::mt19937 rng(4712);
  int back = 0, absent = 0;
  const int kills = Kills();
  for (int k = 0; k < kills; ++k) {
    SCOPED_TRACE("kill " + std::to_string(k));
    const std::string db = dir / ("import-" + std::to_string(k) + ".db");
    std::filesystem::copy_file(original, db);
    const std::string reports = testing::RunAndKill(
        [&](int fd) {
          RunChild(db, live, fd, [&](ConversationStore& s) { return s.ImportUser({.path = file}).ok(); });
        },
        static_cast<useconds_t>(2000 + rng() % 150000));
    if (::testing::Test::HasFailure()) break;

    auto store = OpenOrDie(db);
    const int64_t theirs = QueryInt(db, "SELECT count(*) FROM messages WHERE content LIKE 'content %'");
    if (store->GetUser(kUser).ok()) {
      ++back;
      EXPECT_EQ(theirs, 2000);
      EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM cost_retained"), 0);
    } else {
      ++absent;
      EXPECT_EQ(theirs, 0);
    }
    ExpectConsistent(*store, db, spent_before, Acknowledged(reports));
    ASSERT_OK(store->Close());
    RemoveDb(db);
    if (::testing::Test::HasFailure()) break;
  }
  std::printf("import crash test: %d kills: %d imports had committed, %d had not\n", kills, back, absent);
}

}  // namespace
}  // namespace convstore
