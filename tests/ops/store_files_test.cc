// A store file as a whole: its facts read without opening it (InspectStore), checked while in use (CheckStore),
// its journal in words (DescribeJournal), and the backups kept in a directory (ListBackups, PruneBackups,
// PruneArchive).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::ExecOnFile;
using testing::OpenOrDie;
using testing::TempDb;
using testing::TempDir;

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

NewMessage Msg(std::string content) {
  NewMessage m;
  m.content = std::move(content);
  m.cost_nanousd = 1000;
  m.metadata_json = R"({"team":"netops"})";
  return m;
}

int64_t Count(const StoreInfo& info, const std::string& table) {
  for (const auto& [t, n] : info.row_counts)
    if (t == table) return n;
  return -1;
}

TEST(StoreFiles, InspectReadsTheFactsWithoutChangingTheFile) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com", .title = "BGP"});
  ASSERT_OK(conv);
  for (int i = 0; i < 5; ++i) ASSERT_OK(store->AddMessage(conv->id, Msg("m")));
  auto info = InspectStore(db.path());  // while the store is open and writing
  ASSERT_OK(info);
  EXPECT_EQ(info->schema_version, testing::kSchemaVersion);
  EXPECT_EQ(info->library_schema_version, testing::kSchemaVersion);
  EXPECT_TRUE(info->pending_migrations.empty());
  EXPECT_EQ(Count(*info, "messages"), 5);
  EXPECT_EQ(info->cost_nanousd, 5000);
  EXPECT_GT(info->page_count, 0);
  EXPECT_GT(info->file_bytes, 0);
  ASSERT_TRUE(info->has_journal);
  EXPECT_EQ(info->journal.last_seq, store->GetJournalStatus()->last_seq);
  ASSERT_OK(store->Close());

  // An older file: what opening it would do, and nothing done by looking.
  TempDb old;
  { auto s = OpenOrDie(old.path()); }
  ExecOnFile(old.path(), testing::DowngradeSchemaSql(3));
  info = InspectStore(old.path());
  ASSERT_OK(info);
  EXPECT_EQ(info->schema_version, 3);
  ASSERT_EQ(info->pending_migrations.size(), static_cast<size_t>(testing::kSchemaVersion - 3));
  EXPECT_EQ(info->pending_migrations[0].version, 4);
  EXPECT_FALSE(info->has_journal);
  EXPECT_EQ(InspectStore(old.path())->schema_version, 3);

  EXPECT_CODE(InspectStore(db.path() + ".missing"), Code::kNotFound);
  EXPECT_CODE(InspectStore(""), Code::kInvalidArgument);
  TempDir dir;
  ExecOnFile(dir / "other.db", "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  EXPECT_CODE(InspectStore(dir / "other.db"), Code::kInvalidArgument);
}

TEST(StoreFiles, CheckFindsDamageInDerivedTablesAndPassesAHealthyStore) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  for (int i = 0; i < 5; ++i) ASSERT_OK(store->AddMessage(conv->id, Msg("m")));
  auto check = CheckStore(db.path());
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
  EXPECT_EQ(check->schema_version, testing::kSchemaVersion);
  ASSERT_OK(store->Close());
  ExecOnFile(db.path(), "UPDATE cost_fold SET messages_through = messages_through + 2");  // 2 never counted
  check = CheckStore(db.path());
  ASSERT_OK(check);
  EXPECT_FALSE(check->ok);
  ASSERT_FALSE(check->problems.empty());
  EXPECT_NE(check->problems[0].find("rollups"), std::string::npos) << check->problems[0];
  EXPECT_CODE(CheckStore(db.path() + ".missing"), Code::kNotFound);
  EXPECT_CODE(CheckStore(":memory:"), Code::kInvalidArgument);
}

TEST(StoreFiles, TheJournalInWords) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com", .title = "BGP flaps"});
  ASSERT_OK(conv);
  const int64_t start = store->GetJournalStatus()->last_seq;
  auto m = store->AddMessages(conv->id, {Msg("a"), Msg("b")});
  ASSERT_OK(m);
  ASSERT_OK(store->EditMessage((*m)[0].id, {.content = "edited"}));
  ASSERT_OK(store->DeleteConversation(conv->id));
  auto words = store->DescribeJournal({.after_seq = start});
  ASSERT_OK(words);
  ASSERT_EQ(words->size(), 3u);
  auto has = [](const JournalDescription& d, const std::string& text) {
    for (const auto& l : d.lines)
      if (l.find(text) != std::string::npos) return true;
    std::string all;
    for (const auto& l : d.lines) all += "\n  " + l;
    ADD_FAILURE() << "no line has '" << text << "' in entry " << d.seq << ":" << all;
    return false;
  };
  EXPECT_TRUE(has((*words)[0], "added 2 messages to conversation " + conv->id + " \"BGP flaps\""));
  EXPECT_TRUE(has((*words)[1], "edited 1 message in conversation " + conv->id));
  EXPECT_TRUE(has((*words)[2], "deleted conversation " + conv->id + " \"BGP flaps\" (2 messages)"));
  ASSERT_OK(store->SetJournalEnabled(false));
  words = store->DescribeJournal({.after_seq = start + 3});
  ASSERT_OK(words);
  ASSERT_EQ(words->size(), 1u);
  EXPECT_EQ((*words)[0].kind, JournalEntryKind::kJournalOff);
  EXPECT_CODE(store->DescribeJournal({.limit = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store->DescribeJournal({.since = 10, .until = 5}), Code::kInvalidArgument);
}

TEST(StoreFiles, BackupsListedAndPrunedNeverTheNewest) {
  TempDb db;
  TempDir dir;
  auto store = OpenOrDie(db.path());
  for (const char* name : {"a.db", "b.db", "c.db"}) {
    BackupOptions o;
    o.path = dir / name;
    ASSERT_OK(store->Backup(o));
  }
  auto listed = ListBackups(dir.path());
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].path, dir / "a.db");
  EXPECT_TRUE((*listed)[2].present);
  // Nothing is old enough yet.
  auto removed = PruneBackups(dir.path(), 3600'000'000);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 0);
  ::usleep(20'000);
  removed = PruneBackups(dir.path(), 1);  // everything is older than 1 µs: all but the newest go
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(Exists(dir / "a.db"));
  EXPECT_FALSE(Exists(dir / "a.db.manifest.json"));
  EXPECT_TRUE(Exists(dir / "c.db"));
  EXPECT_CODE(PruneBackups(dir.path(), 0), Code::kInvalidArgument);
  EXPECT_CODE(ListBackups(dir / "missing"), Code::kNotFound);

  ArchiveOptions a;
  a.directory = dir / "archive";
  ASSERT_OK(store->ArchiveNow(a));
  auto pruned = PruneArchive(a.directory, 3600'000'000);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 0);
  ASSERT_OK(store->StartArchiving(a));
  EXPECT_CODE(PruneArchive(a.directory, 1), Code::kBusy);
  ASSERT_OK(store->StopArchiving());
  EXPECT_CODE(PruneArchive(dir.path(), 1), Code::kNotFound);
}

}  // namespace
}  // namespace convstore
