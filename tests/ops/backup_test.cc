// Backups: a consistent copy of a live store with its manifest, checked without trusting it, restored atomically;
// damage, wrong keys and stores in use refused.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;
using testing::TempDir;

constexpr char kKey[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kWrongKey[] = "100102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

NewMessage Msg(std::string content, int64_t cost = 1000) {
  NewMessage m;
  m.content = std::move(content);
  m.cost_nanousd = cost;
  m.metadata_json = R"({"team":"netops"})";
  return m;
}

int Mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

bool Exists(const std::string& path) { return Mode(path) >= 0; }

void FlipByte(const std::string& path, long offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c = 0;
  f.get(c);
  f.seekp(offset);
  f.put(static_cast<char>(c ^ 0x01));
}

long SizeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long>(st.st_size) : -1;
}

struct Filled {
  std::unique_ptr<ConversationStore> store;
  std::string conversation;
};

Filled Fill(const std::string& path, int messages) {
  Filled f{OpenOrDie(path), ""};
  auto conv = f.store->CreateConversation({.user_key = "ana@example.com", .title = "BGP"});
  EXPECT_TRUE(conv.ok());
  f.conversation = conv->id;
  for (int i = 0; i < messages; ++i) EXPECT_TRUE(f.store->AddMessage(conv->id, Msg("m" + std::to_string(i))).ok());
  return f;
}

TEST(Backup, CopiesALiveStoreWithAManifestThatVerifiesAndRestores) {
  TempDb db;
  TempDir dir;
  auto f = Fill(db.path(), 50);
  std::vector<Progress> seen;
  BackupOptions options;
  options.path = dir / "b1.db";
  options.on_progress = [&](const Progress& p) { seen.push_back(p); };
  auto report = f.store->Backup(options);
  ASSERT_OK(report);
  EXPECT_EQ(report->manifest_path, dir / "b1.db.manifest.json");
  EXPECT_EQ(Mode(options.path), 0600);
  EXPECT_EQ(Mode(report->manifest_path), 0600);
  const BackupManifest& m = report->manifest;
  EXPECT_EQ(m.schema_version, testing::kSchemaVersion);
  EXPECT_EQ(m.journal_seq, f.store->GetJournalStatus()->last_seq);
  EXPECT_EQ(m.bytes, SizeOf(options.path));
  EXPECT_EQ(m.sha256.size(), 64u);
  EXPECT_EQ(m.sha256, m.database_sha256);
  EXPECT_FALSE(m.encrypted);
  EXPECT_EQ(m.cost_nanousd, 50 * 1000);
  bool counted = false;
  for (const auto& [table, n] : m.row_counts) counted = counted || (table == "messages" && n == 50);
  EXPECT_TRUE(counted);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done, seen.back().total);

  auto check = VerifyBackup(options.path);
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems.front());
  EXPECT_EQ(check->manifest.sha256, m.sha256);

  // The store moves on; the restore takes it back to the backup.
  for (int i = 0; i < 10; ++i) ASSERT_OK(f.store->AddMessage(f.conversation, Msg("after")));
  EXPECT_CODE(RestoreBackup(options.path, db.path()), Code::kBusy);  // open in this process
  ASSERT_OK(f.store->Close());
  f.store.reset();
  auto restored = RestoreBackup(options.path, db.path());
  ASSERT_OK(restored);
  auto store = OpenOrDie(db.path());
  auto conv = store->GetConversationInfo(f.conversation);
  ASSERT_OK(conv);
  EXPECT_EQ(conv->message_count, 50);
  auto entries = store->ReadJournal({.after_seq = m.journal_seq, .limit = 10});
  ASSERT_OK(entries);
  ASSERT_FALSE(entries->empty());
  EXPECT_EQ((*entries)[0].kind, JournalEntryKind::kRestored);
  EXPECT_EQ(store->VerifyRollups()->differences, 0);
}

TEST(Backup, FinishesWhileWritersKeepWritingAndIsConsistent) {
  TempDb db;
  TempDir dir;
  auto f = Fill(db.path(), 200);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (!stop) {
      if (f.store->AddMessage(f.conversation, Msg(std::string(300, 'x'))).ok()) ++written;
    }
  });
  BackupOptions options;
  options.path = dir / "live.db";
  auto report = f.store->Backup(options);
  stop = true;
  writer.join();
  ASSERT_OK(report);
  auto check = VerifyBackup(options.path);
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems.front());
  // The copy is one snapshot: its conversation counter equals its messages.
  EXPECT_EQ(QueryInt(options.path, std::string("SELECT message_count FROM ") + testing::kConversationsAsRead),
            QueryInt(options.path, "SELECT count(*) FROM messages"));
  EXPECT_GT(written.load(), 0);
}

TEST(Backup, AFlippedByteAnywhereIsReportedAndNeverRestored) {
  TempDb db, target;
  TempDir dir;
  auto f = Fill(db.path(), 30);
  BackupOptions options;
  options.path = dir / "good.db";
  ASSERT_OK(f.store->Backup(options));
  const long size = SizeOf(options.path);
  { auto t = Fill(target.path(), 3); }
  const int64_t before = QueryInt(target.path(), "SELECT count(*) FROM messages");
  for (long offset : {0L, 100L, size / 3, size / 2, size - 1}) {
    SCOPED_TRACE(offset);
    const std::string copy = dir / ("bad-" + std::to_string(offset) + ".db");
    ASSERT_EQ(std::system(("cp '" + options.path + "' '" + copy + "' && cp '" + options.path + ".manifest.json' '" +
                           copy + ".manifest.json'").c_str()), 0);
    FlipByte(copy, offset);
    auto check = VerifyBackup(copy);
    ASSERT_OK(check);
    EXPECT_FALSE(check->ok);
    ASSERT_FALSE(check->problems.empty());
    EXPECT_NE(check->problems.front().find("damaged"), std::string::npos) << check->problems.front();
    EXPECT_CODE(RestoreBackup(copy, target.path()), Code::kCorruption);
    EXPECT_EQ(QueryInt(target.path(), "SELECT count(*) FROM messages"), before);
  }
  // A backup without its manifest does not verify either.
  ASSERT_EQ(::unlink((options.path + ".manifest.json").c_str()), 0);
  auto check = VerifyBackup(options.path);
  ASSERT_OK(check);
  EXPECT_FALSE(check->ok);
  EXPECT_CODE(VerifyBackup(dir / "missing.db"), Code::kNotFound);
}

TEST(Backup, EncryptedBackupsNeedTheirKey) {
  TempDb db, target;
  TempDir dir;
  auto f = Fill(db.path(), 20);
  BackupOptions options;
  options.path = dir / "sealed.db";
  options.encryption_key_hex = kKey;
  auto report = f.store->Backup(options);
  ASSERT_OK(report);
  EXPECT_TRUE(report->manifest.encrypted);
  EXPECT_NE(report->manifest.sha256, report->manifest.database_sha256);
  {
    std::ifstream in(options.path, std::ios::binary);
    std::string magic(8, '\0');
    in.read(magic.data(), 8);
    EXPECT_EQ(magic, "CSTRENC1");
  }
  EXPECT_CODE(VerifyBackup(options.path), Code::kInvalidArgument);
  EXPECT_CODE(VerifyBackup(options.path, {.encryption_key_hex = kWrongKey}), Code::kInvalidArgument);
  auto check = VerifyBackup(options.path, {.encryption_key_hex = kKey});
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems.front());
  EXPECT_CODE(RestoreBackup(options.path, target.path(), {.encryption_key_hex = kWrongKey}), Code::kInvalidArgument);
  ASSERT_OK(RestoreBackup(options.path, target.path(), {.encryption_key_hex = kKey}));
  EXPECT_EQ(QueryInt(target.path(), "SELECT count(*) FROM messages"), 20);
}

TEST(Backup, RefusesBadRequestsAndStoresInUseElsewhere) {
  TempDb db, target;
  TempDir dir;
  auto f = Fill(db.path(), 5);
  BackupOptions options;
  options.path = dir / "once.db";
  ASSERT_OK(f.store->Backup(options));
  EXPECT_CODE(f.store->Backup(options), Code::kConflict);
  BackupOptions bad;
  EXPECT_CODE(f.store->Backup(bad), Code::kInvalidArgument);
  bad.path = ":memory:";
  EXPECT_CODE(f.store->Backup(bad), Code::kInvalidArgument);
  bad.path = dir / "x.db";
  bad.encryption_key_hex = "abcd";
  EXPECT_CODE(f.store->Backup(bad), Code::kInvalidArgument);
  EXPECT_FALSE(Exists(bad.path));
  bad.encryption_key_hex.clear();
  bad.path = "/nonexistent-dir/x.db";
  EXPECT_FALSE(f.store->Backup(bad).ok());
  EXPECT_CODE(RestoreBackup(options.path, ""), Code::kInvalidArgument);

  // Another process has the target open: the restore is refused and the target untouched.
  { auto t = Fill(target.path(), 2); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    auto s = ConversationStore::Open(target.path());
    char c = s.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::sleep(5);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_CODE(RestoreBackup(options.path, target.path()), Code::kBusy);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(QueryInt(target.path(), "SELECT count(*) FROM messages"), 2);
  ASSERT_OK(RestoreBackup(options.path, target.path()));
  EXPECT_EQ(QueryInt(target.path(), "SELECT count(*) FROM messages"), 5);
}

TEST(Backup, AnInMemoryStoreBacksUpToAFile) {
  TempDir dir;
  auto store = OpenOrDie(ConversationStore::kInMemory);
  auto conv = store->CreateConversation({.user_key = "u", .title = "t"});
  ASSERT_OK(conv);
  ASSERT_OK(store->AddMessage(conv->id, Msg("kept")));
  BackupOptions options;
  options.path = dir / "mem.db";
  ASSERT_OK(store->Backup(options));
  auto check = VerifyBackup(options.path);
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok);
  ASSERT_OK(RestoreBackup(options.path, dir / "restored.db"));
  auto restored = OpenOrDie(dir / "restored.db");
  EXPECT_EQ(restored->GetConversationInfo(conv->id)->message_count, 1);
}

}  // namespace
}  // namespace convstore
