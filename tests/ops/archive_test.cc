// The archive and point-in-time restore: generations, segments and base backups shipped from a live store; every
// commit restorable by sequence number and by time (exact commit times and instants between them); new
// generations across markers and restored files; damage, keys, retention, in-process archiving and bad input.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "table_dump.h"
#include "test_util.h"
#include "util/directory.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::TempDb;
using testing::TempDir;

constexpr char kKey[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kWrongKey[] = "100102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

int Mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}


NewMessage Msg(std::string content, int64_t cost = 1000) {
  NewMessage m;
  m.content = std::move(content);
  m.cost_nanousd = cost;
  m.metadata_json = R"({"team":"netops","n":1})";
  return m;
}

struct Commit {
  int64_t seq;
  Micros at;
  std::string state;
};

// The store's last journal entry.
JournalEntry Last(ConversationStore& store) {
  auto status = store.GetJournalStatus();
  EXPECT_TRUE(status.ok());
  auto entries = store.ReadJournal({.after_seq = status->last_seq - 1, .limit = 1, .decode = false});
  EXPECT_TRUE(entries.ok() && entries->size() == 1);
  return entries->front();
}

void ExpectDerivedTablesVerify(const std::string& path) {
  auto store = OpenOrDie(path);
  auto rollups = store->VerifyRollups();
  ASSERT_OK(rollups);
  EXPECT_EQ(rollups->differences, 0);
  auto index = store->VerifyMetadataIndex();
  ASSERT_OK(index);
  EXPECT_TRUE(index->consistent());
}

TEST(Archive, EveryCommitIsRestorableBySeqAndByTime) {
  TempDb db;
  TempDir dir;
  const std::string archive = dir / "archive";
  auto store = OpenOrDie(db.path());
  ArchiveOptions options;
  options.directory = archive;
  auto first = store->ArchiveNow(options);
  ASSERT_OK(first);
  EXPECT_TRUE(first->new_generation);
  EXPECT_TRUE(first->base_backup_taken);
  EXPECT_EQ(Mode(archive), 0700);

  std::vector<Commit> commits;
  auto record = [&] {
    JournalEntry e = Last(*store);
    commits.push_back({e.seq, e.committed_at, testing::DumpJournaledTables(db.path())});
  };
  auto conv = store->CreateConversation({.user_key = "ana@example.com", .title = "BGP"});
  ASSERT_OK(conv);
  record();
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) {
    auto m = store->AddMessage(conv->id, Msg("m" + std::to_string(i), 1000 + i));
    ASSERT_OK(m);
    ids.push_back(m->id);
    record();
    if (i % 5 == 4) {
      ASSERT_OK(store->DeleteMessage(ids[static_cast<size_t>(i - 2)]));
      record();
      ASSERT_OK(store->EditMessage(ids[static_cast<size_t>(i - 1)], {.content = "edited", .metadata_json = R"({"team":"core"})"}));
      record();
    }
    if (i == 7) {
      ASSERT_OK(store->SetBudget({.name = "daily", .scope = "global", .period = "day", .hard_limit_nanousd = 1'000'000'000}));
      record();
      ASSERT_OK(store->AddPrice({.model = "gpt-x", .input_per_mtok = 1'000'000, .output_per_mtok = 2'000'000}));
      record();
      ASSERT_OK(store->RecordApiUsage({.user_key = "bo@example.com", .model = "gpt-x", .tokens_input = 1000, .tokens_output = 10}));
      record();
    }
    if (i % 8 == 3) ASSERT_OK(store->ArchiveNow(options));  // ship as we go: several segments
  }
  auto conv2 = store->CreateConversation({.user_key = "bo@example.com", .title = "doomed"});
  ASSERT_OK(conv2);
  record();  // every commit is recorded: an instant between two recorded commits must not hide a third
  ASSERT_OK(store->AddMessage(conv2->id, Msg("x")));
  record();
  ASSERT_OK(store->DeleteConversation(conv2->id));
  record();
  auto last = store->ArchiveNow(options);
  ASSERT_OK(last);
  EXPECT_FALSE(last->new_generation);
  EXPECT_EQ(last->archived_seq, commits.back().seq);
  EXPECT_EQ(last->archived_at, commits.back().at);

  auto listing = ListArchive(archive);
  ASSERT_OK(listing);
  ASSERT_EQ(listing->generations.size(), 1u);
  EXPECT_EQ(listing->generations[0].last_seq, commits.back().seq);
  EXPECT_GE(listing->generations[0].segments, 3);
  EXPECT_TRUE(listing->generations[0].problems.empty());

  TempDb target;
  for (size_t i = 0; i < commits.size(); ++i) {
    const Commit& c = commits[i];
    PointInTimeOptions by_seq;
    by_seq.to_seq = c.seq;
    auto r = RestoreToPoint(archive, target.path(), by_seq);
    ASSERT_OK(r);
    EXPECT_EQ(r->seq, c.seq);
    EXPECT_EQ(r->committed_at, c.at);
    EXPECT_EQ(testing::DumpJournaledTables(target.path()), c.state) << "to_seq " << c.seq;
    // The exact commit time is inclusive; an instant before the next commit restores the same state.
    PointInTimeOptions by_time;
    by_time.to_time = c.at;
    if (i + 1 < commits.size() && commits[i + 1].at > c.at + 1 && i % 2 == 1)
      by_time.to_time = c.at + (commits[i + 1].at - c.at) / 2;
    r = RestoreToPoint(archive, target.path(), by_time);
    ASSERT_OK(r);
    // The last commit at or before the instant: c, unless the next commits have c's very time (commit times never
    // go backwards: a wall clock stepped back gives the next commits the last one's time, and an instant cannot
    // tell them apart).
    size_t reached = i;
    while (reached + 1 < commits.size() && commits[reached + 1].at <= *by_time.to_time) ++reached;
    EXPECT_EQ(r->seq, commits[reached].seq);
    EXPECT_EQ(testing::DumpJournaledTables(target.path()), commits[reached].state) << "to_time " << *by_time.to_time;
    if (i % 6 == 0) ExpectDerivedTablesVerify(target.path());
  }
  // The restored store's journal goes on from the point with a restored marker.
  auto restored = OpenOrDie(target.path());
  auto entries = restored->ReadJournal({.after_seq = commits.back().seq, .decode = false});
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].kind, JournalEntryKind::kRestored);
}

TEST(Archive, AReplayPastTheWatermarkRestoresTheConversationsAsTheyWere) {
  // The cost watermark is derived, not journaled: a replay of 256 or more messages past the base backup's watermark
  // leaves them all pending, and the rebuild that follows must count them without folding the conversations the
  // replay set (the source's conversation keeps the messages added after its last fold pending).
  TempDb db;
  TempDir dir;
  const std::string archive = dir / "archive";
  auto store = OpenOrDie(db.path());
  ArchiveOptions options;
  options.directory = archive;
  ASSERT_OK(store->ArchiveNow(options));  // the base backup: no messages
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(conv);
  for (int i = 0; i < 278; ++i) ASSERT_OK(store->AddMessage(conv->id, Msg("m" + std::to_string(i), 10)));
  auto round = store->ArchiveNow(options);
  ASSERT_OK(round);
  const std::string state = testing::DumpJournaledTables(db.path());
  auto live = store->GetConversation(conv->id);
  ASSERT_OK(live);

  TempDb target;
  PointInTimeOptions o;
  o.to_seq = round->archived_seq;
  ASSERT_OK(RestoreToPoint(archive, target.path(), o));
  EXPECT_EQ(testing::DumpJournaledTables(target.path()), state);
  auto restored = OpenOrDie(target.path());
  auto got = restored->GetConversation(conv->id);
  ASSERT_OK(got);
  EXPECT_EQ(got->conversation.message_count, 278);
  EXPECT_EQ(got->conversation.cost_nanousd, live->conversation.cost_nanousd);
  auto summary = restored->GetCostSummary({.user_key = "ana@example.com"});
  ASSERT_OK(summary);
  EXPECT_EQ(summary->total_cost_nanousd, 2780);
  ExpectDerivedTablesVerify(target.path());
}

TEST(Archive, RefusesTargetsItDoesNotHoldAndLeavesTheTargetAlone) {
  TempDb db;
  TempDir dir;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->CreateConversation({.user_key = "ana@example.com"}));
  const Micros before_base = Last(*store).committed_at - 1;
  ArchiveOptions options;
  options.directory = dir / "a";
  ASSERT_OK(store->ArchiveNow(options));
  const int64_t last = Last(*store).seq;
  PointInTimeOptions o;
  o.to_time = before_base;
  EXPECT_CODE(RestoreToPoint(options.directory, dir / "t.db", o), Code::kNotFound);
  o = {};
  o.to_seq = last + 5;
  EXPECT_CODE(RestoreToPoint(options.directory, dir / "t.db", o), Code::kNotFound);
  EXPECT_FALSE(Exists(dir / "t.db"));
  o = {};
  EXPECT_CODE(RestoreToPoint(options.directory, dir / "t.db", o), Code::kInvalidArgument);  // neither target
  o.to_seq = last;
  o.to_time = 1;
  EXPECT_CODE(RestoreToPoint(options.directory, dir / "t.db", o), Code::kInvalidArgument);  // both
  o = {};
  o.to_seq = -1;
  EXPECT_CODE(RestoreToPoint(options.directory, dir / "t.db", o), Code::kInvalidArgument);
  o.to_seq = last;
  EXPECT_CODE(RestoreToPoint(dir / "nothing", dir / "t.db", o), Code::kNotFound);
  EXPECT_CODE(RestoreToPoint("", dir / "t.db", o), Code::kInvalidArgument);
  EXPECT_CODE(RestoreToPoint(options.directory, "", o), Code::kInvalidArgument);
  EXPECT_CODE(RestoreToPoint(options.directory, ":memory:", o), Code::kInvalidArgument);
  o.generation = "00000000000000000001-deadbeef";
  EXPECT_CODE(RestoreToPoint(options.directory, dir / "t.db", o), Code::kNotFound);
  EXPECT_FALSE(Exists(dir / "t.db"));
  // The live store is open: a restore onto it is refused.
  o.generation.clear();
  EXPECT_CODE(RestoreToPoint(options.directory, db.path(), o), Code::kBusy);
  EXPECT_CODE(ListArchive(dir / "nothing"), Code::kNotFound);
}

TEST(Archive, MarkersAndRestoredFilesStartNewGenerations) {
  TempDb db;
  TempDir dir;
  ArchiveOptions options;
  options.directory = dir / "a";
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(conv);
  ASSERT_OK(store->ArchiveNow(options));
  ASSERT_OK(store->AddMessage(conv->id, Msg("before the switch")));
  const int64_t before_switch = Last(*store).seq;
  const std::string state_before_switch = testing::DumpJournaledTables(db.path());
  ASSERT_OK(store->SetJournalEnabled(false));
  ASSERT_OK(store->AddMessage(conv->id, Msg("not journaled")));
  ASSERT_OK(store->SetJournalEnabled(true));
  ASSERT_OK(store->AddMessage(conv->id, Msg("after the switch")));
  auto round = store->ArchiveNow(options);
  ASSERT_OK(round);
  EXPECT_TRUE(round->new_generation);
  auto listing = ListArchive(options.directory);
  ASSERT_OK(listing);
  ASSERT_GE(listing->generations.size(), 2u);
  EXPECT_EQ(listing->generations.front().last_seq, before_switch);
  // Both histories restore: the first generation up to the switch, the newest to its end.
  PointInTimeOptions o;
  o.to_seq = before_switch;
  TempDb target;
  ASSERT_OK(RestoreToPoint(options.directory, target.path(), o));
  EXPECT_EQ(testing::DumpJournaledTables(target.path()), state_before_switch);
  o.to_seq = Last(*store).seq;
  ASSERT_OK(RestoreToPoint(options.directory, target.path(), o));
  EXPECT_EQ(testing::DumpJournaledTables(target.path()), testing::DumpJournaledTables(db.path()));

  // A store put back from an older backup no longer continues the archive: a new generation, not a mix.
  BackupOptions b;
  b.path = dir / "old.db";
  ASSERT_OK(store->Backup(b));
  ASSERT_OK(store->AddMessage(conv->id, Msg("lost by the restore")));
  ASSERT_OK(store->ArchiveNow(options));
  ASSERT_OK(store->Close());
  store.reset();
  ASSERT_OK(RestoreBackup(b.path, db.path()));
  store = OpenOrDie(db.path());
  ASSERT_OK(store->AddMessage(conv->id, Msg("a new history")));
  const size_t generations_before = ListArchive(options.directory)->generations.size();
  round = store->ArchiveNow(options);
  ASSERT_OK(round);
  EXPECT_TRUE(round->new_generation);
  EXPECT_EQ(ListArchive(options.directory)->generations.size(), generations_before + 1);
  PointInTimeOptions now;
  now.to_time = Last(*store).committed_at;
  ASSERT_OK(RestoreToPoint(options.directory, target.path(), now));
  EXPECT_EQ(testing::DumpJournaledTables(target.path()), testing::DumpJournaledTables(db.path()));
}

TEST(Archive, ACrashBetweenASegmentAndItsPositionNeitherRepeatsNorForks) {
  TempDb db;
  TempDir dir;
  ArchiveOptions options;
  options.directory = dir / "a";
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(store->ArchiveNow(options));
  for (int i = 0; i < 5; ++i) ASSERT_OK(store->AddMessage(conv->id, Msg("m")));
  auto shipped = store->ArchiveNow(options);
  ASSERT_OK(shipped);
  // As if the process died after renaming the segment but before recording the position.
  auto absolute = util::AbsolutePath(options.directory);
  ASSERT_OK(absolute);
  ASSERT_OK(store->SetJournalConsumer("archive:" + *absolute, shipped->archived_seq - 3));
  auto again = store->ArchiveNow(options);
  ASSERT_OK(again);
  EXPECT_FALSE(again->new_generation);
  EXPECT_EQ(again->entries_shipped, 0);
  EXPECT_EQ(again->archived_seq, shipped->archived_seq);
  auto status = store->GetJournalStatus();
  ASSERT_OK(status);
  ASSERT_EQ(status->consumers.size(), 1u);
  EXPECT_EQ(status->consumers[0].seq, shipped->archived_seq);
  // Leftovers of a crash (a temporary file, a base backup without its record) are removed, never listed.
  auto listing = ListArchive(options.directory);
  ASSERT_OK(listing);
  const std::string gen = listing->generations[0].path;
  std::ofstream(gen + "/segments/.x.seg.tmp-1-2") << "half";
  std::ofstream(gen + "/base/00000000000000000001.db") << "half";
  ASSERT_OK(store->ArchiveNow(options));  // a new archiver session cleans up first
  EXPECT_FALSE(Exists(gen + "/segments/.x.seg.tmp-1-2"));
  EXPECT_FALSE(Exists(gen + "/base/00000000000000000001.db"));
}

TEST(Archive, ADamagedSegmentIsNeverReplayed) {
  TempDb db;
  TempDir dir;
  ArchiveOptions options;
  options.directory = dir / "a";
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(store->ArchiveNow(options));
  for (int i = 0; i < 20; ++i) ASSERT_OK(store->AddMessage(conv->id, Msg("m" + std::to_string(i))));
  ASSERT_OK(store->ArchiveNow(options));
  auto listing = ListArchive(options.directory);
  ASSERT_OK(listing);
  auto names = util::ListDirectory(listing->generations[0].path + "/segments");
  ASSERT_OK(names);
  ASSERT_FALSE(names->empty());
  const std::string segment = listing->generations[0].path + "/segments/" + names->back();
  std::ifstream in(segment, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  for (size_t offset : {size_t{0}, bytes.size() / 2, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[offset] = static_cast<char>(damaged[offset] ^ 0x10);
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << damaged;
    TempDb target;
    {
      auto t = OpenOrDie(target.path());
      ASSERT_OK(t->CreateConversation({.user_key = "old@example.com"}));
    }
    const std::string before = testing::DumpJournaledTables(target.path());
    PointInTimeOptions o;
    o.to_seq = Last(*store).seq;
    SCOPED_TRACE("damaged at offset " + std::to_string(offset));
    EXPECT_CODE(RestoreToPoint(options.directory, target.path(), o), Code::kCorruption);
    EXPECT_EQ(testing::DumpJournaledTables(target.path()), before);
  }
}

TEST(Archive, EncryptedArchivesNeedTheirKey) {
  TempDb db;
  TempDir dir;
  ArchiveOptions options;
  options.directory = dir / "a";
  options.encryption_key_hex = kKey;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(store->ArchiveNow(options));
  ASSERT_OK(store->AddMessage(conv->id, Msg("secret words")));
  ASSERT_OK(store->ArchiveNow(options));
  auto listing = ListArchive(options.directory);
  ASSERT_OK(listing);
  EXPECT_TRUE(listing->encrypted);
  // No plaintext anywhere in the archive.
  EXPECT_NE(std::system(("grep -rq 'secret words' '" + options.directory + "'").c_str()), 0);
  ArchiveOptions plain = options;
  plain.encryption_key_hex.clear();
  EXPECT_CODE(store->ArchiveNow(plain), Code::kInvalidArgument);
  PointInTimeOptions o;
  o.to_seq = Last(*store).seq;
  TempDb target;
  EXPECT_CODE(RestoreToPoint(options.directory, target.path(), o), Code::kInvalidArgument);
  o.encryption_key_hex = kWrongKey;
  EXPECT_CODE(RestoreToPoint(options.directory, target.path(), o), Code::kInvalidArgument);
  o.encryption_key_hex = kKey;
  ASSERT_OK(RestoreToPoint(options.directory, target.path(), o));
  EXPECT_EQ(testing::DumpJournaledTables(target.path()), testing::DumpJournaledTables(db.path()));
}

TEST(Archive, RetentionKeepsTheWindowRestorableAndRemovesTheRest) {
  TempDb db;
  TempDir dir;
  std::atomic<int64_t> now{1'800'000'000'000'000};
  testing::ClockEnv env([&] { return now.load(); });
  Options store_options;
  store_options.env = &env;
  auto store = OpenOrDie(db.path(), store_options);
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ArchiveOptions options;
  options.directory = dir / "a";
  options.base_backup_interval_us = 10'000'000;  // a base backup every 10 s
  options.keep_us = 25'000'000;                  // every instant of the last 25 s restorable
  std::vector<Commit> commits;
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 3; ++i) {
      now += 1'000'000;
      ASSERT_OK(store->AddMessage(conv->id, Msg("m")));
      JournalEntry e = Last(*store);
      commits.push_back({e.seq, e.committed_at, testing::DumpJournaledTables(db.path())});
    }
    now += 4'000'000;
    ASSERT_OK(store->ArchiveNow(options));
  }
  auto listing = ListArchive(options.directory);
  ASSERT_OK(listing);
  ASSERT_EQ(listing->generations.size(), 1u);
  const auto& bases = listing->generations[0].base_backups;
  ASSERT_GE(bases.size(), 2u);
  EXPECT_LE(bases.size(), 5u);  // older ones removed
  EXPECT_LE(bases.front().journal_committed_at, now - *options.keep_us);
  // Every commit within the window restores; the oldest ones may not.
  TempDb target;
  for (const Commit& c : commits) {
    if (c.at < now - *options.keep_us) continue;
    PointInTimeOptions o;
    o.to_time = c.at;
    ASSERT_OK(RestoreToPoint(options.directory, target.path(), o));
    EXPECT_EQ(testing::DumpJournaledTables(target.path()), c.state);
  }
  PointInTimeOptions oldest;
  oldest.to_seq = commits.front().seq;
  EXPECT_CODE(RestoreToPoint(options.directory, target.path(), oldest), Code::kNotFound);
}

TEST(Archive, InProcessArchivingShipsWithinItsInterval) {
  TempDb db;
  TempDir dir;
  ArchiveOptions options;
  options.directory = dir / "a";
  options.interval_us = 5'000;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  ASSERT_OK(store->StartArchiving(options));
  EXPECT_CODE(store->StartArchiving(options), Code::kConflict);
  EXPECT_CODE(store->ArchiveNow(options), Code::kBusy);  // the directory is the thread's
  for (int i = 0; i < 50; ++i) ASSERT_OK(store->AddMessage(conv->id, Msg("m")));
  const int64_t last = Last(*store).seq;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (store->GetArchivingStatus()->totals.archived_seq < last && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto status = store->GetArchivingStatus();
  ASSERT_OK(status);
  EXPECT_TRUE(status->running);
  EXPECT_EQ(status->totals.archived_seq, last);
  EXPECT_EQ(status->failed_rounds, 0) << status->last_error;
  ASSERT_OK(store->AddMessage(conv->id, Msg("the last one")));
  auto totals = store->StopArchiving();
  ASSERT_OK(totals);
  EXPECT_EQ(totals->archived_seq, Last(*store).seq);  // the last round shipped everything
  EXPECT_CODE(store->StopArchiving(), Code::kNotFound);
  EXPECT_FALSE(store->GetArchivingStatus()->running);
  // Close stops a running archiver.
  ASSERT_OK(store->StartArchiving(options));
  ASSERT_OK(store->Close());
}

TEST(Archive, RefusesBadOptionsAndStoresWithoutAFile) {
  TempDb db;
  TempDir dir;
  auto store = OpenOrDie(db.path());
  ArchiveOptions o;
  EXPECT_CODE(store->ArchiveNow(o), Code::kInvalidArgument);
  o.directory = std::string("a\0b", 3);
  EXPECT_CODE(store->ArchiveNow(o), Code::kInvalidArgument);
  o.directory = dir / "a";
  o.interval_us = 0;
  EXPECT_CODE(store->StartArchiving(o), Code::kInvalidArgument);
  o.interval_us = 1'000'000;
  o.base_backup_interval_us = 10;
  EXPECT_CODE(store->ArchiveNow(o), Code::kInvalidArgument);
  o.base_backup_interval_us = 86'400'000'000;
  o.keep_us = 0;
  EXPECT_CODE(store->ArchiveNow(o), Code::kInvalidArgument);
  o.keep_us.reset();
  o.encryption_key_hex = "abc";
  EXPECT_CODE(store->ArchiveNow(o), Code::kInvalidArgument);
  EXPECT_FALSE(Exists(dir / "a"));  // nothing written
  std::ofstream(dir / "file") << "x";
  o.encryption_key_hex.clear();
  o.directory = dir / "file";
  EXPECT_CODE(store->ArchiveNow(o), Code::kConflict);
  o.directory = dir.path();  // holds other files
  EXPECT_CODE(store->ArchiveNow(o), Code::kConflict);
  auto memory = OpenOrDie(":memory:");
  o.directory = dir / "m";
  EXPECT_CODE(memory->ArchiveNow(o), Code::kInvalidArgument);
  EXPECT_CODE(memory->StartArchiving(o), Code::kInvalidArgument);
  ASSERT_OK(store->Close());
  Options ro;
  ro.read_only = true;
  auto reader = OpenOrDie(db.path(), ro);
  EXPECT_CODE(reader->ArchiveNow(o), Code::kReadOnly);
  EXPECT_FALSE(Exists(dir / "m"));
}

}  // namespace
}  // namespace convstore
