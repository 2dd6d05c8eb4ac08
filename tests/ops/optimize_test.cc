// Maintenance: new files use incremental auto-vacuum from creation, so Optimize gives the pages of deleted rows back
// without a full VACUUM; an older file needs Optimize with vacuum, which converts it, reports progress and shrinks
// it; the WAL is checkpointed and emptied; refusals for in-memory and read-only stores.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

// 20 conversations of 40 messages with 2 KiB of content each (about 1.6 MiB), then all but one deleted. The change
// journal is off: it would keep the deleted rows' images (its retention removes them).
void FillAndDelete(ConversationStore& store) {
  ASSERT_OK(store.SetJournalEnabled(false));
  std::vector<std::string> ids;
  for (int c = 0; c < 20; ++c) {
    auto conv = store.CreateConversation({.user_key = "u@example.com", .title = "t" + std::to_string(c)});
    ASSERT_OK(conv);
    std::vector<NewMessage> batch;
    for (int m = 0; m < 40; ++m) batch.push_back({.role = Role::kUser, .content = std::string(2048, static_cast<char>('a' + m % 26))});
    ASSERT_OK(store.AddMessages(conv->id, batch));
    ids.push_back(conv->id);
  }
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_OK(store.DeleteConversation(ids[i]));
}

TEST(Optimize, NewFilesGiveFreePagesBackWithoutAVacuum) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  EXPECT_EQ(QueryInt(db.path(), "PRAGMA auto_vacuum"), 2) << "incremental from creation";
  FillAndDelete(*store);
  auto report = store->Optimize({});
  ASSERT_OK(report);
  EXPECT_FALSE(report->vacuumed);
  EXPECT_EQ(report->auto_vacuum, "incremental");
  EXPECT_GT(report->free_pages_before, 100);
  EXPECT_EQ(report->free_pages_after, 0);
  EXPECT_EQ(report->pages_released, report->free_pages_before);
  EXPECT_LT(report->bytes_after, report->bytes_before);
  EXPECT_TRUE(report->wal_truncated);
  // The store still works and still verifies.
  auto rollups = store->VerifyRollups();
  ASSERT_OK(rollups);
  EXPECT_EQ(rollups->differences, 0);
  ASSERT_OK(store->CreateConversation({.user_key = "u@example.com"}));
}

TEST(Optimize, AnOlderFileIsConvertedByAVacuumWithProgress) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
  }
  {
    // As an older version left it: no auto-vacuum.
    sqlite3* raw = nullptr;
    sqlite3_open(db.path().c_str(), &raw);
    ASSERT_EQ(sqlite3_exec(raw, "PRAGMA auto_vacuum=NONE; VACUUM;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  EXPECT_EQ(QueryInt(db.path(), "PRAGMA auto_vacuum"), 0);
  auto store = OpenOrDie(db.path());
  FillAndDelete(*store);
  auto plain = store->Optimize({});
  ASSERT_OK(plain);
  EXPECT_EQ(plain->auto_vacuum, "none");
  EXPECT_EQ(plain->pages_released, 0);
  EXPECT_GT(plain->free_pages_after, 100) << "an older file keeps its free pages until a VACUUM";

  std::vector<Progress> heard;
  auto vacuumed = store->Optimize({.vacuum = true, .on_progress = [&](const Progress& p) { heard.push_back(p); }});
  ASSERT_OK(vacuumed);
  EXPECT_TRUE(vacuumed->vacuumed);
  EXPECT_EQ(vacuumed->auto_vacuum, "incremental");
  EXPECT_EQ(vacuumed->free_pages_after, 0);
  EXPECT_LT(vacuumed->bytes_after, plain->bytes_after / 2) << "the file shrinks";
  ASSERT_GE(heard.size(), 2u);
  EXPECT_EQ(heard.front().done, 0);
  EXPECT_EQ(heard.back().done, heard.back().total);
  for (size_t i = 1; i < heard.size(); ++i) EXPECT_LE(heard[i - 1].done, heard[i].done);
  EXPECT_EQ(QueryInt(db.path(), "PRAGMA auto_vacuum"), 2);
  auto check = CheckStore(db.path());
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok);
}

TEST(Optimize, RefusedWhereThereIsNoFileToWrite) {
  auto memory = OpenOrDie(ConversationStore::kInMemory);
  EXPECT_CODE(memory->Optimize({}), Code::kInvalidArgument);
  TempDb db;
  { auto store = OpenOrDie(db.path()); }
  Options read_only;
  read_only.read_only = true;
  auto ro = OpenOrDie(db.path(), read_only);
  EXPECT_CODE(ro->Optimize({}), Code::kReadOnly);
}

}  // namespace
}  // namespace convstore
