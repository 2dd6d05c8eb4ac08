// The change journal: what it records, in which order and at which times, that its changesets replayed on a copy
// taken earlier reproduce the journaled tables exactly, its markers (foreign writes, off/on), retention and the
// decoded stream.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "ops/journal_tables.h"
#include "ops/replay.h"
#include "sqlite/connection.h"
#include "table_dump.h"
#include "test_util.h"
#include "util/status_macros.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

struct Raw {
  sqlite3* db = nullptr;
  explicit Raw(const std::string& path) {
    sqlite3_open(path.c_str(), &db);
    sqlite3_busy_timeout(db, 5000);  // the store's background indexer may be writing
  }
  ~Raw() { sqlite3_close(db); }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << " in " << sql;
  }
};


// A consistent copy of the live file (SQLite's backup API), as a base for replays.
void Snapshot(const std::string& from, const std::string& to) {
  Raw src(from), dst(to);
  sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(sqlite3_backup_step(b, -1), SQLITE_DONE);
  sqlite3_backup_finish(b);
}

// Applies the live file's journal entries after `after_seq` to `copy` with SQLite's own changeset_apply; returns
// how many entries were applied, or -1 when a change conflicted.
int ApplyJournal(const std::string& live, const std::string& copy, int64_t after_seq) {
  Raw src(live), dst(copy);
  sqlite3_db_config(dst.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  dst.Exec("PRAGMA foreign_keys=OFF");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(src.db, "SELECT seq, kind, changes FROM change_journal WHERE seq > ?1 ORDER BY seq", -1, &st,
                     nullptr);
  sqlite3_bind_int64(st, 1, after_seq);
  int applied = 0;
  bool conflict = false;
  while (sqlite3_step(st) == SQLITE_ROW) {
    EXPECT_EQ(sqlite3_column_int(st, 1), 0) << "a marker at seq " << sqlite3_column_int64(st, 0);
    const int n = sqlite3_column_bytes(st, 2);
    void* blob = const_cast<void*>(sqlite3_column_blob(st, 2));
    auto on_conflict = [](void* ctx, int, sqlite3_changeset_iter*) {
      *static_cast<bool*>(ctx) = true;
      return SQLITE_CHANGESET_ABORT;
    };
    const int rc = sqlite3changeset_apply(dst.db, n, blob, nullptr, on_conflict, &conflict);
    if (rc != SQLITE_OK || conflict) {
      ADD_FAILURE() << "entry " << sqlite3_column_int64(st, 0) << ": " << sqlite3_errstr(rc);
      sqlite3_finalize(st);
      return -1;
    }
    ++applied;
  }
  sqlite3_finalize(st);
  return applied;
}

std::vector<JournalEntry> ReadAll(ConversationStore& store, int64_t after = 0) {
  JournalQuery q;
  q.after_seq = after;
  q.limit = 10000;
  auto entries = store.ReadJournal(q);
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  return entries.ok() ? *entries : std::vector<JournalEntry>{};
}

NewMessage Msg(std::string content, Role role = Role::kUser) {
  NewMessage m;
  m.role = role;
  m.content = std::move(content);
  return m;
}

TEST(Journal, RecordsEachTransactionInOrder) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto status = store->GetJournalStatus();
  ASSERT_OK(status);
  EXPECT_TRUE(status->enabled);
  const int64_t start = status->last_seq;  // the price catalog's load

  auto conv = store->CreateConversation({.user_key = "ana@example.com", .title = "BGP"});
  ASSERT_OK(conv);
  NewMessage m = Msg("what flaps?");
  m.model = "gpt-4o";
  m.tokens_input = 12;
  ASSERT_OK(store->AddMessage(conv->id, m));

  auto entries = ReadAll(*store, start);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].seq, start + 1);
  EXPECT_EQ(entries[1].seq, start + 2);
  for (const auto& e : entries) {
    EXPECT_EQ(e.kind, JournalEntryKind::kChanges);
    EXPECT_EQ(e.schema_version, testing::kSchemaVersion);
    EXPECT_GT(e.bytes, 0);
  }
  // The conversation's entry: the user and the conversation, inserted.
  bool user = false, conversation = false;
  for (const auto& c : entries[0].changes) {
    user = user || (c.table == "users" && c.op == ChangeOp::kInsert &&
                    c.new_json.find("\"key\":\"ana@example.com\"") != std::string::npos);
    conversation = conversation || (c.table == "conversations" && c.op == ChangeOp::kInsert &&
                                    c.new_json.find("\"title\":\"BGP\"") != std::string::npos);
  }
  EXPECT_TRUE(user && conversation);
  // The message's entry: the message inserted with its content, and no conversation row (its counters count the
  // newest messages when read).
  const JournalChange* inserted = nullptr;
  const JournalChange* counters = nullptr;
  for (const auto& c : entries[1].changes) {
    if (c.table == "messages") inserted = &c;
    if (c.table == "conversations") counters = &c;
    EXPECT_NE(c.table, "cost_pending");  // derived tables are rebuilt, not journaled
    EXPECT_NE(c.table, "metadata_postings");
  }
  ASSERT_NE(inserted, nullptr);
  EXPECT_EQ(inserted->op, ChangeOp::kInsert);
  EXPECT_NE(inserted->new_json.find("\"content\":\"what flaps?\""), std::string::npos) << inserted->new_json;
  EXPECT_EQ(inserted->old_json, "");
  EXPECT_EQ(counters, nullptr) << counters->new_json;
}

TEST(Journal, ReplayOnAnEarlierCopyReproducesEveryJournaledTable) {
  TempDb db, copy;
  auto store = OpenOrDie(db.path());
  auto first = store->CreateConversation({.user_key = "u1", .title = "first", .metadata_json = R"({"team":"a"})"});
  ASSERT_OK(first);
  ASSERT_OK(store->AddMessage(first->id, Msg("before the copy")));
  Snapshot(db.path(), copy.path());
  const int64_t base_seq = QueryInt(copy.path(), "SELECT max(seq) FROM change_journal");

  // Every kind of write after the copy.
  TeamInput team;
  team.key = "netops";
  team.monthly_budget_nanousd = 5'000'000'000;
  ASSERT_OK(store->UpsertTeam(team));
  UserInput user;
  user.key = "u2";
  user.team_key = "netops";
  ASSERT_OK(store->UpsertUser(user));
  auto second = store->CreateConversation({.user_key = "u2", .title = "second", .metadata_json = R"({"k":[1,2]})"});
  ASSERT_OK(second);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    NewMessage m = Msg("message " + std::to_string(i), i % 2 ? Role::kAssistant : Role::kUser);
    m.model = "gpt-4o-mini";
    m.tokens_input = 100 + i;
    m.tokens_output = 50;
    m.metadata_json = R"({"i":)" + std::to_string(i) + "}";
    auto added = store->AddMessage(second->id, m);
    ASSERT_OK(added);
    ids.push_back(added->id);
  }
  ASSERT_OK(store->AddMessages(first->id, {Msg("batch 1"), Msg("batch 2", Role::kAssistant)}));
  MessageEdit edit;
  edit.content = "corrected";
  ASSERT_OK(store->EditMessage(ids[3], edit));
  ASSERT_OK(store->DeleteMessage(ids[5]));
  ASSERT_OK(store->PopMessage(second->id));
  NewToolCall call;
  call.tool_name = "lookup";
  call.input_json = R"({"q":"bgp"})";
  call.status = ToolStatus::kPending;
  auto tool = store->AddToolCall(ids[1], call);
  ASSERT_OK(tool);
  ToolCallUpdate done;
  done.status = ToolStatus::kSuccess;
  done.output_json = R"({"ok":true})";
  ASSERT_OK(store->UpdateToolCall(tool->id, done));
  ConversationUpdate update;
  update.title = "renamed";
  ASSERT_OK(store->UpdateConversation(second->id, update));
  PriceInput price;
  price.model = "house-model";
  price.input_per_mtok = 1'000'000'000;
  price.output_per_mtok = 2'000'000'000;
  ASSERT_OK(store->AddPrice(price));
  NewApiUsage usage;
  usage.user_key = "u2";
  usage.model = "house-model";
  usage.tokens_input = 1000;
  usage.request_id = "req-1";
  ASSERT_OK(store->RecordApiUsage(usage));
  BudgetInput budget;
  budget.name = "netops-monthly";
  budget.scope = "team";
  budget.scope_key = "netops";
  budget.period = "month";
  budget.hard_limit_nanousd = 10'000'000'000;
  ASSERT_OK(store->SetBudget(budget));
  ReserveRequest reserve;
  reserve.user_key = "u2";
  reserve.request_id = "req-2";
  reserve.estimated_cost_nanousd = 1'000;
  ASSERT_OK(store->Reserve(reserve));
  ASSERT_OK(store->Release("req-2"));
  ASSERT_OK(store->SetMetadataExcludedPaths({"k"}));
  ASSERT_OK(store->DeleteConversation(first->id));  // cascades to its messages

  const int applied = ApplyJournal(db.path(), copy.path(), base_seq);
  EXPECT_GT(applied, 20);
  EXPECT_EQ(testing::DumpJournaledTables(copy.path()), testing::DumpJournaledTables(db.path()));
}

// Replays the live file's entries after `after_seq` on `copy` with convstore's own replayer, in one transaction.
Status Replay(const std::string& live, const std::string& copy, int64_t after_seq, int64_t* applied) {
  sqlite::ConnectionConfig config;
  auto conn = sqlite::Connection::Open(copy, config);
  if (!conn.ok()) return conn.status();
  CONVSTORE_RETURN_IF_ERROR((*conn)->Exec("PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE", "begin"));
  ops::Replayer replayer(**conn);
  Raw src(live);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(src.db, "SELECT seq, changes FROM change_journal WHERE seq > ?1 AND kind = 0 ORDER BY seq", -1,
                     &st, nullptr);
  sqlite3_bind_int64(st, 1, after_seq);
  Status s;
  while (s.ok() && sqlite3_step(st) == SQLITE_ROW)
    s = replayer.Apply(sqlite3_column_int64(st, 0),
                       std::string_view(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                                        static_cast<size_t>(sqlite3_column_bytes(st, 1))));
  sqlite3_finalize(st);
  *applied = replayer.changes_applied();
  if (!s.ok()) return s;
  return (*conn)->Exec("COMMIT", "commit");
}

TEST(Journal, ConvstoresReplayerReproducesTheTablesAndRefusesADivergedCopy) {
  TempDb db, copy, diverged;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "u1", .title = "before"});
  ASSERT_OK(conv);
  ASSERT_OK(store->AddMessage(conv->id, Msg("before the copy")));
  Snapshot(db.path(), copy.path());
  Snapshot(db.path(), diverged.path());
  const int64_t base_seq = QueryInt(copy.path(), "SELECT max(seq) FROM change_journal");
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    auto m = store->AddMessage(conv->id, Msg("m" + std::to_string(i), i % 2 ? Role::kAssistant : Role::kUser));
    ASSERT_OK(m);
    ids.push_back(m->id);
  }
  MessageEdit edit;
  edit.content = "edited";
  edit.metadata_json = R"({"edited":true})";
  ASSERT_OK(store->EditMessage(ids[2], edit));
  ASSERT_OK(store->DeleteMessage(ids[4]));
  ConversationUpdate update;
  update.title = "after";
  ASSERT_OK(store->UpdateConversation(conv->id, update));
  auto other = store->CreateConversation({.user_key = "u2", .title = "gone"});
  ASSERT_OK(other);
  ASSERT_OK(store->AddMessage(other->id, Msg("to be deleted")));
  ASSERT_OK(store->DeleteConversation(other->id));
  int64_t applied = 0;
  ASSERT_OK(Replay(db.path(), copy.path(), base_seq, &applied));
  EXPECT_GT(applied, 40);  // 31 messages, the edit, the delete (with a fold), the update, the other conversation
  EXPECT_EQ(testing::DumpJournaledTables(copy.path()), testing::DumpJournaledTables(db.path()));

  // A copy changed outside the journal: the replay stops at the first row that is not as recorded.
  {
    Raw raw(diverged.path());
    sqlite3_db_config(raw.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    raw.Exec("UPDATE conversations SET title = 'changed behind the journal'");
  }
  const std::string before = testing::DumpJournaledTables(diverged.path());
  Status s = Replay(db.path(), diverged.path(), base_seq, &applied);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("not as the journal recorded it"), std::string::npos) << s.ToString();
  EXPECT_EQ(testing::DumpJournaledTables(diverged.path()), before) << "a failed replay leaves the copy as it was";
}

TEST(Journal, CommitTimesNeverGoBackAndSequencesAreGapFree) {
  TempDb db;
  std::atomic<int64_t> now{1'800'000'000'000'000};
  testing::ClockEnv env([&] { return now.load(); });
  Options options;
  options.env = &env;
  auto store = OpenOrDie(db.path(), options);
  auto conv = store->CreateConversation({.user_key = "u", .title = "t"});
  ASSERT_OK(conv);
  now -= 3'600'000'000;  // the clock steps back an hour
  ASSERT_OK(store->AddMessage(conv->id, Msg("after the step")));
  now += 10;
  ASSERT_OK(store->AddMessage(conv->id, Msg("a little later")));
  // A second store object on the file: another writer, as another process would be.
  auto other = OpenOrDie(db.path(), options);
  for (int i = 0; i < 10; ++i) ASSERT_OK((i % 2 ? *store : *other).AddMessage(conv->id, Msg("m" + std::to_string(i))));

  auto entries = ReadAll(*store);
  ASSERT_GE(entries.size(), 13u);
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, entries[i - 1].seq + 1);
    EXPECT_GE(entries[i].committed_at, entries[i - 1].committed_at);
  }
}

TEST(Journal, ConcurrentWritersGroupCommitIntoWholeEntries) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "u", .title = "t"});
  ASSERT_OK(conv);
  const int64_t start = store->GetJournalStatus()->last_seq;
  constexpr int kThreads = 6, kEach = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        EXPECT_TRUE(store->AddMessage(conv->id, Msg(std::to_string(t) + "/" + std::to_string(i))).ok());
    });
  for (auto& th : threads) th.join();
  int inserts = 0;
  for (const auto& e : ReadAll(*store, start))
    for (const auto& c : e.changes) inserts += c.table == "messages" && c.op == ChangeOp::kInsert;
  EXPECT_EQ(inserts, kThreads * kEach);
}

TEST(Journal, AFailedWriteLeavesNoEntry) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "u", .title = "t"});
  ASSERT_OK(conv);
  NewMessage m = Msg("once");
  m.request_id = "r1";
  ASSERT_OK(store->AddMessage(conv->id, m));
  const int64_t last = store->GetJournalStatus()->last_seq;
  ASSERT_OK(store->AddMessage(conv->id, m));  // an idempotent retry: nothing written
  EXPECT_CODE(store->AddMessage("no-such-conversation", Msg("x")), Code::kNotFound);
  EXPECT_EQ(store->GetJournalStatus()->last_seq, last);
  // A write that only touches derived tables records nothing either.
  ASSERT_OK(store->RebuildRollups());
  EXPECT_EQ(store->GetJournalStatus()->last_seq, last);
}

TEST(Journal, WritesByOtherProgramsAreMarkedOnce) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->CreateConversation({.user_key = "u", .title = "t"}));
  {
    Raw raw(db.path());
    raw.Exec("INSERT INTO teams(key, name, created_at, updated_at) VALUES ('sneaky', '', 1, 1)");
    raw.Exec("UPDATE users SET name = 'edited outside' WHERE key = 'u'");
  }
  auto entries = ReadAll(*store);
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().kind, JournalEntryKind::kForeignWrite);
  const int64_t foreign = QueryInt(db.path(), "SELECT count(*) FROM change_journal WHERE kind = 1");
  EXPECT_EQ(foreign, 1) << "one marker per run of foreign writes";
  ASSERT_OK(store->CreateConversation({.user_key = "u", .title = "after"}));
  entries = ReadAll(*store);
  EXPECT_EQ(entries.back().kind, JournalEntryKind::kChanges);
  auto status = store->GetJournalStatus();
  ASSERT_OK(status);
  EXPECT_EQ(status->markers, 1);
  EXPECT_EQ(status->last_marker_seq, entries[entries.size() - 2].seq);
}

TEST(Journal, TurningItOffAndOnLeavesMarkersAndRecordsNothingBetween) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto conv = store->CreateConversation({.user_key = "u", .title = "t"});
  ASSERT_OK(conv);
  ASSERT_OK(store->SetJournalEnabled(false));
  ASSERT_OK(store->SetJournalEnabled(false));  // no second marker
  const int64_t off_at = store->GetJournalStatus()->last_seq;
  ASSERT_OK(store->AddMessage(conv->id, Msg("unrecorded")));
  {
    auto other = OpenOrDie(db.path());  // every process follows the switch in the file
    ASSERT_OK(other->AddMessage(conv->id, Msg("unrecorded too")));
    EXPECT_FALSE(other->GetJournalStatus()->enabled);
  }
  EXPECT_EQ(store->GetJournalStatus()->last_seq, off_at);
  ASSERT_OK(store->SetJournalEnabled(true));
  ASSERT_OK(store->AddMessage(conv->id, Msg("recorded")));
  auto entries = ReadAll(*store, off_at - 1);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].kind, JournalEntryKind::kJournalOff);
  EXPECT_EQ(entries[1].kind, JournalEntryKind::kJournalOn);
  EXPECT_EQ(entries[2].kind, JournalEntryKind::kChanges);
}

TEST(Journal, RetentionKeepsWhatConsumersHaveNotReadAndTheNewestEntry) {
  TempDb db;
  std::atomic<int64_t> now{1'800'000'000'000'000};
  testing::ClockEnv env([&] { return now.load(); });
  Options options;
  options.env = &env;
  auto store = OpenOrDie(db.path(), options);
  auto conv = store->CreateConversation({.user_key = "u", .title = "t"});
  ASSERT_OK(conv);
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK(store->AddMessage(conv->id, Msg("m" + std::to_string(i))));
    now += 60'000'000;  // a minute apart
  }
  auto before = store->GetJournalStatus();
  ASSERT_OK(before);
  ASSERT_OK(store->SetJournalConsumer("archive", before->first_seq + 9));
  JournalRetention retention;
  retention.max_age_us = 1;  // everything is old
  ASSERT_OK(store->SetJournalRetention(retention));
  auto pruned = store->PruneJournal();
  ASSERT_OK(pruned);
  EXPECT_EQ(pruned->removed, 10);
  EXPECT_EQ(pruned->first_seq, before->first_seq + 10);
  ASSERT_OK(store->SetJournalConsumer("archive", before->last_seq));
  pruned = store->PruneJournal();
  ASSERT_OK(pruned);
  auto after = store->GetJournalStatus();
  ASSERT_OK(after);
  // Everything after the consumer's position stays: the audit entries of the retention setting and of each
  // pruning batch (each written in its own transaction, so journaled after what it removed).
  EXPECT_EQ(after->entries, 3);
  EXPECT_EQ(after->first_seq, before->last_seq + 1);
  EXPECT_EQ(after->last_seq, before->last_seq + 3);
  EXPECT_EQ(*after->retention.max_age_us, 1);
  ASSERT_EQ(after->consumers.size(), 1u);
  EXPECT_EQ(after->consumers[0].name, "archive");
  // Sequence numbers continue after the pruned ones.
  ASSERT_OK(store->AddMessage(conv->id, Msg("next")));
  EXPECT_EQ(store->GetJournalStatus()->last_seq, before->last_seq + 4);
  ASSERT_OK(store->RemoveJournalConsumer("archive"));
  ASSERT_OK(store->RemoveJournalConsumer("archive"));

  JournalRetention by_size;
  by_size.max_bytes = 1;
  ASSERT_OK(store->SetJournalRetention(by_size));
  ASSERT_OK(store->PruneJournal());
  EXPECT_EQ(store->GetJournalStatus()->entries, 2) << "the newest entry stays, then the pruning's audit entry";
}

TEST(Journal, QueriesByTimeAndWithoutDecoding) {
  TempDb db;
  std::atomic<int64_t> now{1'800'000'000'000'000};
  testing::ClockEnv env([&] { return now.load(); });
  Options options;
  options.env = &env;
  auto store = OpenOrDie(db.path(), options);
  auto conv = store->CreateConversation({.user_key = "u", .title = "t"});
  ASSERT_OK(conv);
  for (int i = 0; i < 5; ++i) {
    now += 1'000'000;
    ASSERT_OK(store->AddMessage(conv->id, Msg("m")));
  }
  JournalQuery q;
  q.since = 1'800'000'002'000'000;
  q.until = 1'800'000'004'000'000;
  q.decode = false;
  auto entries = store->ReadJournal(q);
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_TRUE((*entries)[0].changes.empty());
  EXPECT_GT((*entries)[0].bytes, 0);
}

TEST(Journal, RefusesBadInputAndWritesNothing) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  const int64_t last = store->GetJournalStatus()->last_seq;
  JournalQuery q;
  q.limit = 0;
  EXPECT_CODE(store->ReadJournal(q), Code::kInvalidArgument);
  q.limit = 10001;
  EXPECT_CODE(store->ReadJournal(q), Code::kInvalidArgument);
  q = {};
  q.after_seq = -1;
  EXPECT_CODE(store->ReadJournal(q), Code::kInvalidArgument);
  q = {};
  q.since = 1'800'000'000'000'000;
  q.until = 1'700'000'000'000'000;
  EXPECT_CODE(store->ReadJournal(q), Code::kInvalidArgument);
  q = {};
  q.since = 1'700'000'000;  // seconds
  EXPECT_CODE(store->ReadJournal(q), Code::kInvalidArgument);
  JournalRetention r;
  r.max_age_us = 0;
  EXPECT_CODE(store->SetJournalRetention(r), Code::kInvalidArgument);
  r = {};
  r.max_bytes = -5;
  EXPECT_CODE(store->SetJournalRetention(r), Code::kInvalidArgument);
  EXPECT_CODE(store->SetJournalConsumer("", 0), Code::kInvalidArgument);
  EXPECT_CODE(store->SetJournalConsumer(std::string("a\0b", 3), 0), Code::kInvalidArgument);
  EXPECT_CODE(store->SetJournalConsumer("x", -1), Code::kInvalidArgument);
  EXPECT_CODE(store->SetJournalConsumer("x", last + 1), Code::kInvalidArgument);
  EXPECT_CODE(store->RemoveJournalConsumer(""), Code::kInvalidArgument);
  auto status = store->GetJournalStatus();
  ASSERT_OK(status);
  EXPECT_EQ(status->last_seq, last);
  EXPECT_TRUE(status->consumers.empty());
  EXPECT_FALSE(status->retention.max_age_us.has_value());
}

TEST(Journal, AMigratedFileStartsWithAMigrationMarkerAndJournalsFromThere) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    auto conv = store->CreateConversation({.user_key = "u", .title = "from version 5"});
    ASSERT_OK(conv);
    ASSERT_OK(store->AddMessage(conv->id, Msg("old")));
  }
  {
    Raw raw(db.path());
    raw.Exec(testing::DowngradeSchemaSql(5));
  }
  ASSERT_EQ(QueryInt(db.path(), "SELECT count(*) FROM sqlite_schema WHERE name = 'change_journal'"), 0);
  auto store = OpenOrDie(db.path());
  EXPECT_EQ(store->schema_version(), testing::kSchemaVersion);
  auto conv = store->CreateConversation({.user_key = "u", .title = "on version 6"});
  ASSERT_OK(conv);
  auto entries = ReadAll(*store);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].seq, 1);
  EXPECT_EQ(entries[0].kind, JournalEntryKind::kSchemaMigration);
  EXPECT_EQ(entries[0].schema_version, testing::kSchemaVersion);
  EXPECT_EQ(entries[1].kind, JournalEntryKind::kChanges);
  EXPECT_TRUE(store->GetJournalStatus()->enabled);
}

TEST(Journal, ADamagedChangesetIsCorruptionNotAWrongAnswer) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->CreateConversation({.user_key = "u", .title = "t"}));
  const int64_t last = store->GetJournalStatus()->last_seq;
  {
    Raw raw(db.path());
    sqlite3_db_config(raw.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    raw.Exec("UPDATE change_journal SET changes = x'54ff0102' WHERE seq = " + std::to_string(last));
  }
  JournalQuery q;
  q.after_seq = last - 1;
  EXPECT_CODE(store->ReadJournal(q), Code::kCorruption);
  q.decode = false;
  ASSERT_OK(store->ReadJournal(q));
}

}  // namespace
}  // namespace convstore
