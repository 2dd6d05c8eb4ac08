// I/O fault sweeps over the operations on whole store files — backup, restore, an archive's first round and a
// later one, a point-in-time restore — and over a retention run and a user's export and import. Each operation runs once per possible fault: the Nth call of one kind fails, for every N
// the healthy run makes, through two doors — SQLite's I/O through the fault VFS (write, sync, open, disk full) and
// convstore's own file I/O (create, write, sync, rename) through util/io_faults.h. After each faulted run:
//  - the operation returned an error, or it succeeded and what it made verifies;
//  - a failed backup leaves no backup, manifest or temporary file; a failed restore leaves the target as it was;
//  - a failed archive round is repaired by the next healthy one, and the archive then restores the live state;
//  - the live store still reads every row it had and takes new writes.
//
// CONVSTORE_FAULT_SWEEP_STRIDE=k faults every k-th call only (the sanitizer stages' shorter sweep).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "convstore/convstore.hpp"
#include "fault_checks.h"
#include "fault_vfs.h"
#include "test_util.h"
#include "util/directory.h"
#include "util/io_faults.h"

namespace convstore {
namespace {

using fault_vfs::Kind;
using testing::QueryInt;
using testing::TempDir;

// ---- faults in convstore's own file I/O -------------------------------------------------------------------

std::atomic<int> g_own_op{-1};       // the IoOp faulted, -1: none (counting only)
std::atomic<uint64_t> g_own_calls{0};
std::atomic<uint64_t> g_own_nth{0};  // 0: count only
std::atomic<uint64_t> g_own_fired{0};
std::atomic<bool> g_own_sticky{false};

int OwnHook(util::IoOp op) {
  if (static_cast<int>(op) != g_own_op.load()) return 0;
  const uint64_t n = ++g_own_calls;
  const uint64_t nth = g_own_nth.load();
  if (nth == 0 || n < nth || (n > nth && !g_own_sticky.load())) return 0;
  ++g_own_fired;
  return op == util::IoOp::kWrite ? ENOSPC : EIO;
}

// One fault source: a VFS kind or an own-I/O op.
struct Source {
  const char* name;
  Kind vfs = Kind::kNone;
  int own = -1;
  bool sticky = false;
};

const Source kSources[] = {
    {"vfs_write", Kind::kWrite},          {"vfs_sync", Kind::kSync},
    {"vfs_open", Kind::kOpen},            {"vfs_disk_full", Kind::kDiskFull, -1, true},
    {"own_create", Kind::kNone, static_cast<int>(util::IoOp::kCreate)},
    {"own_write", Kind::kNone, static_cast<int>(util::IoOp::kWrite), true},
    {"own_sync", Kind::kNone, static_cast<int>(util::IoOp::kSync)},
    {"own_rename", Kind::kNone, static_cast<int>(util::IoOp::kRename)},
};

void Arm(const Source& s, uint64_t nth) {
  if (s.own >= 0) {
    g_own_calls = 0;
    g_own_nth = nth;
    g_own_sticky = s.sticky;
    g_own_op = s.own;
  } else {
    fault_vfs::Arm(s.vfs, nth, s.sticky);
  }
}

std::atomic<uint64_t> g_calls_while_armed{0};  // of the last armed window
bool g_operation_ok = false;                    // what the last faulted operation returned

// Disarms, keeping the count of the source's calls seen while armed.
void Disarm(const Source& s) {
  if (s.own >= 0) {
    g_own_op = -1;
    g_calls_while_armed = g_own_calls.load();
    return;
  }
  g_calls_while_armed = fault_vfs::CallsSinceArm();
  fault_vfs::Disarm();
}

uint64_t Fired(const Source& s) { return s.own >= 0 ? g_own_fired.load() : fault_vfs::FaultsInjected(); }

// ---- the operations ------------------------------------------------------------------------------------------

NewMessage Msg(int i) {
  NewMessage m;
  m.role = Role::kUser;
  m.content = "message " + std::to_string(i) + std::string(300, 'x');
  m.model = "gpt-4o";
  m.tokens_input = 10 + i;
  return m;
}

// The options every store here opens with: no background full-text indexer, whose I/O on its own thread would
// take the sweep's numbered faults at moments the sweep does not choose (the operations index what they need).
Options Quiet() {
  Options o;
  o.background_indexing = false;
  return o;
}

// A store with `messages` messages in one conversation.
std::unique_ptr<ConversationStore> Filled(const std::string& path, int messages) {
  auto store = testing::OpenOrDie(path, Quiet());
  auto conv = store->CreateConversation({.user_key = "ana@example.com"});
  EXPECT_TRUE(conv.ok());
  for (int i = 0; i < messages; ++i) EXPECT_TRUE(store->AddMessage(conv->id, Msg(i)).ok());
  return store;
}

int64_t Messages(const std::string& path) { return QueryInt(path, "SELECT count(*) FROM messages"); }

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Names in `dir` that a failed operation must not leave: temporary files.
std::vector<std::string> Leftovers(const std::string& dir) {
  std::vector<std::string> found;
  auto names = util::ListDirectory(dir);
  if (!names.ok()) return found;
  for (const auto& n : *names)
    if (n.find(".tmp-") != std::string::npos) found.push_back(n);
  return found;
}

// What a failed restore leaves in the target: `old` messages, unless the error says the new store (20 messages) is
// in place and only syncing its directory failed.
int64_t InPlaceOr(const Status& error, int64_t old) {
  return error.message().find("the restored store is in place") != std::string::npos ? 20 : old;
}

// The live store still has its rows and takes a write.
void ExpectLiveStoreWhole(ConversationStore& store, const std::string& path, int64_t messages, std::string* problems) {
  if (Messages(path) != messages) *problems += " the live store lost messages;";
  auto conv = store.CreateConversation({.user_key = "bo@example.com"});
  if (!conv.ok() || !store.AddMessage(conv->id, Msg(0)).ok()) *problems += " the live store refuses writes;";
}

// One faulted run of an operation in a fresh directory: returns the problems found ("" when none).
using Scenario = std::function<std::string(const Source&, uint64_t nth)>;

std::string BackupRun(const Source& source, uint64_t nth) {
  TempDir dir;
  const std::string db = dir / "live.db";
  const std::string backup = dir / "copy.db";
  auto store = Filled(db, 20);
  Arm(source, nth);
  auto r = store->Backup({.path = backup});
  Disarm(source);
  g_operation_ok = r.ok();
  std::string problems;
  if (r.ok()) {
    auto check = VerifyBackup(backup);
    if (!check.ok() || !check->ok) problems += " a backup reported as made does not verify;";
  } else {
    if (Exists(backup) || Exists(backup + ".manifest.json")) problems += " a failed backup left its files;";
  }
  if (!Leftovers(dir.path()).empty()) problems += " temporary files left: " + Leftovers(dir.path())[0] + ";";
  ExpectLiveStoreWhole(*store, db, 20, &problems);
  return problems;
}

// What a restore of the 20-message store over the 5-message `target` in `dir` must leave: the new store when it
// succeeded, the old one when it failed (unless the error says the new one is in place), no temporary file, and a
// target that opens.
std::string TargetProblems(const Status& result, const std::string& target, const std::string& dir,
                           bool check_integrity) {
  std::string problems;
  const int64_t now = Messages(target);
  if (result.ok() && now != 20) problems += " a restore reported as done left " + std::to_string(now) + " messages;";
  if (!result.ok() && now != InPlaceOr(result, 5))
    problems += " a failed restore changed the target (" + std::to_string(now) + " messages): " + result.ToString();
  if (check_integrity &&
      QueryInt(target, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") != 1)
    problems += " the target fails integrity_check;";
  if (!Leftovers(dir).empty()) problems += " temporary files left: " + Leftovers(dir)[0] + " (" + result.ToString() + ");";
  auto again = ConversationStore::Open(target, Quiet());
  if (!again.ok()) problems += " the target does not open: " + again.status().ToString() + ";";
  return problems;
}

std::string RestoreRun(const Source& source, uint64_t nth) {
  TempDir dir;
  const std::string backup = dir / "copy.db";
  const std::string target = dir / "target.db";
  {
    auto store = Filled(dir / "live.db", 20);
    EXPECT_TRUE(store->Backup({.path = backup}).ok());
  }
  Filled(target, 5).reset();
  Arm(source, nth);
  auto r = RestoreBackup(backup, target);
  Disarm(source);
  g_operation_ok = r.ok();
  return TargetProblems(r.status(), target, dir.path(), /*check_integrity=*/true);
}

// An archive round under the fault: the first one (`first`: creating the archive, its generation and base backup)
// or a later one (shipping a segment).
std::string ArchiveRound(const Source& source, uint64_t nth, bool first) {
  TempDir dir;
  const std::string db = dir / "live.db";
  const std::string archive = dir / "archive";
  auto store = Filled(db, 10);
  const ArchiveOptions options{.directory = archive};
  if (!first) {
    EXPECT_TRUE(store->ArchiveNow(options).ok());
  }
  auto conv = store->CreateConversation({.user_key = "cy@example.com"});
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(store->AddMessage(conv->id, Msg(i)).ok());
  Arm(source, nth);
  auto r = store->ArchiveNow(options);
  Disarm(source);
  g_operation_ok = r.ok();  // failed or not, the next healthy round must leave an archive that restores the live state
  std::string problems;
  auto healthy = store->ArchiveNow(options);
  if (!healthy.ok()) return " the round after the fault fails: " + healthy.status().ToString();
  auto listing = ListArchive(archive);
  if (!listing.ok()) return " the archive does not list: " + listing.status().ToString();
  for (const auto& g : listing->generations)
    for (const auto& p : g.problems) problems += " archive problem: " + p + ";";
  const std::string restored = dir / "restored.db";
  PointInTimeOptions to;
  to.to_seq = healthy->archived_seq;
  auto pitr = RestoreToPoint(archive, restored, to);
  if (!pitr.ok()) problems += " the archive does not restore: " + pitr.status().ToString() + ";";
  else if (Messages(restored) != 20) problems += " the restored store has " + std::to_string(Messages(restored)) + " messages;";
  ExpectLiveStoreWhole(*store, db, 20, &problems);
  return problems;
}

std::string ArchiveFirstRun(const Source& source, uint64_t nth) { return ArchiveRound(source, nth, true); }
std::string ArchiveRun(const Source& source, uint64_t nth) { return ArchiveRound(source, nth, false); }

std::string PointInTimeRun(const Source& source, uint64_t nth) {
  TempDir dir;
  const std::string archive = dir / "archive";
  const std::string target = dir / "target.db";
  int64_t seq = 0;
  {
    auto store = Filled(dir / "live.db", 10);
    EXPECT_TRUE(store->ArchiveNow({.directory = archive}).ok());
    auto conv = store->CreateConversation({.user_key = "cy@example.com"});
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(store->AddMessage(conv->id, Msg(i)).ok());
    auto round = store->ArchiveNow({.directory = archive});
    EXPECT_TRUE(round.ok());
    seq = round.ok() ? round->archived_seq : 0;
  }
  Filled(target, 5).reset();
  PointInTimeOptions to;
  to.to_seq = seq;
  Arm(source, nth);
  auto r = RestoreToPoint(archive, target, to);
  Disarm(source);
  g_operation_ok = r.ok();
  return TargetProblems(r.status(), target, dir.path(), /*check_integrity=*/false);
}

// After a faulted run that must leave the file consistent: integrity, every invariant, the rollups against the raw
// rows plus the retained cost, and the spend reported over `everything`; the problems found.
std::string SpendKeptProblems(ConversationStore& store, const std::string& db, const CostFilter& everything,
                              NanoUsd spent) {
  std::string problems;
  {
    fault_check::RawDb raw(db);
    if (fault_check::IntegrityCheck(raw) != "ok") problems += " integrity_check fails;";
    for (const auto& p : fault_check::CheckInvariants(raw)) problems += " " + p + ";";
  }
  auto rollups = store.VerifyRollups();
  if (!rollups.ok() || rollups->differences != 0) problems += " the rollups do not verify;";
  auto after = store.GetCostSummary(everything);
  if (!after.ok() || after->total_cost_nanousd != spent) problems += " the reported spend changed;";
  return problems;
}

// Once the work is done again without faults: the metadata index and the audit chain verify.
std::string IndexAndAuditProblems(ConversationStore& store) {
  std::string problems;
  auto index = store.VerifyMetadataIndex();
  if (!index.ok() || !index->consistent()) problems += " the metadata index does not verify;";
  auto audit = store.VerifyAudit();
  if (!audit.ok() || !audit->ok) problems += " the audit chain does not verify;";
  return problems;
}

// Retention in batches under the fault, over a store whose old rows (idle conversations, one larger than a batch,
// with tool calls, metadata and a tombstone; old API usage) it removes. Whatever the fault, the file keeps every
// invariant (counters, rollups plus retained cost against the raw rows, foreign keys), the spend reported stays the
// same, and the next healthy run finishes the work.
std::string RetentionRun(const Source& source, uint64_t nth) {
  TempDir dir;
  const std::string db = dir / "live.db";
  const Micros old = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() - 200 * 86'400'000'000LL;
  // Written 200 days ago (deleting a message is a write to its conversation: it must be old too).
  testing::ClockEnv then([old] { return old; });
  Options at_then = Quiet();
  at_then.env = &then;
  auto store = testing::OpenOrDie(db, at_then);
  for (int c = 0; c < 4; ++c) {
    auto conv = store->CreateConversation({.user_key = "ana@example.com", .metadata_json = R"({"k":"v"})",
                                           .created_at = old});
    EXPECT_TRUE(conv.ok());
    std::vector<NewMessage> batch;
    for (int i = 0; i < (c == 0 ? 45 : 6); ++i) {
      NewMessage m = Msg(i);
      m.cost_nanousd = 100 + i;
      m.created_at = old + i;
      m.metadata_json = R"({"kind":"probe"})";
      batch.push_back(m);
    }
    auto added = store->AddMessages(conv->id, batch);
    EXPECT_TRUE(added.ok());
    EXPECT_TRUE(store->AddToolCall((*added)[0].id, {.tool_name = "lookup"}).ok());
    EXPECT_TRUE(store->DeleteMessage((*added)[1].id).ok());
    EXPECT_TRUE(store->RecordApiUsage({.user_key = "ana@example.com", .conversation_id = conv->id, .model = "gpt-4o",
                                       .cost_nanousd = 1000, .recorded_at = old}).ok());
  }
  if (!store->Close().ok()) return " setup: close failed";
  store = testing::OpenOrDie(db, Quiet());
  auto live = store->CreateConversation({.user_key = "bo@example.com"});
  EXPECT_TRUE(live.ok() && store->AddMessage(live->id, Msg(0)).ok());
  const CostFilter everything{.from = old - 86'400'000'000LL, .to = old + 400 * 86'400'000'000LL};
  const NanoUsd spent = store->GetCostSummary(everything)->total_cost_nanousd;
  RetentionOptions options;
  options.batch_rows = 20;
  options.policy = RetentionPolicy{.conversations_idle_us = 90 * 86'400'000'000LL, .api_usage_us = 90 * 86'400'000'000LL};
  Arm(source, nth);
  auto r = store->ApplyRetention(options);
  Disarm(source);
  g_operation_ok = r.ok();
  std::string problems = SpendKeptProblems(*store, db, everything, spent);
  auto healthy = store->ApplyRetention(options);
  if (!healthy.ok()) return problems + " the run after the fault fails: " + healthy.status().ToString();
  if (QueryInt(db, "SELECT count(*) FROM conversations") != 1 || QueryInt(db, "SELECT count(*) FROM api_usage") != 0)
    problems += " the run after the fault left old rows;";
  problems += IndexAndAuditProblems(*store);
  ExpectLiveStoreWhole(*store, db, 1, &problems);
  return problems;
}

// The store the export and import runs start from (built once, copied per run): bo with conversations, and ana
// erased after her export was written beside it.
struct PortabilityTemplate {
  TempDir dir;
  std::string db = dir / "template.db";
  std::string ana_export = dir / "ana.jsonl";
  NanoUsd spent = 0;
  int64_t messages = 0;
};

const PortabilityTemplate& Portability() {
  static PortabilityTemplate t;  // its directory is removed at exit
  static const bool built = [] {
    PortabilityTemplate* p = &t;
    auto store = testing::OpenOrDie(p->db, Quiet());
    for (const char* user : {"ana@example.com", "bo@example.com"}) {
      for (int c = 0; c < 3; ++c) {
        auto conv = store->CreateConversation({.user_key = user, .metadata_json = R"({"k":"v"})"});
        EXPECT_TRUE(conv.ok());
        std::vector<NewMessage> batch;
        for (int i = 0; i < 8; ++i) {
          NewMessage m = Msg(i);
          m.cost_nanousd = 100 + i;
          m.metadata_json = R"({"kind":"probe"})";
          batch.push_back(m);
        }
        auto added = store->AddMessages(conv->id, batch);
        EXPECT_TRUE(added.ok());
        EXPECT_TRUE(store->AddToolCall((*added)[0].id, {.tool_name = "lookup"}).ok());
        EXPECT_TRUE(store->DeleteMessage((*added)[1].id).ok());
        EXPECT_TRUE(store->RecordApiUsage({.user_key = user, .conversation_id = conv->id, .model = "gpt-4o",
                                           .cost_nanousd = 1000}).ok());
      }
    }
    EXPECT_TRUE(store->ExportUser("ana@example.com", {.path = p->ana_export}).ok());
    EXPECT_TRUE(store->EraseUser("ana@example.com").ok());
    p->spent = store->GetCostSummary({.days = 30})->total_cost_nanousd;
    EXPECT_TRUE(store->Close().ok());
    p->messages = QueryInt(p->db, "SELECT count(*) FROM messages");
    return true;
  }();
  (void)built;
  return t;
}

// A copy of the template at `db`, opened.
std::unique_ptr<ConversationStore> PortabilityCopy(const std::string& db) {
  std::filesystem::copy_file(Portability().db, db);
  return testing::OpenOrDie(db, Quiet());
}

// Files in `dir` other than the store's own.
std::vector<std::string> StrayFiles(const std::string& dir, const std::string& db) {
  std::vector<std::string> stray;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (p != db && p != db + "-wal" && p != db + "-shm") stray.push_back(e.path().filename().string());
  }
  return stray;
}

// An export of bo to a file under the fault: it succeeds with a complete file, or fails leaving no file (and no
// temporary one); the store is untouched either way.
std::string ExportRun(const Source& source, uint64_t nth) {
  TempDir dir;
  const std::string db = dir / "live.db";
  auto store = PortabilityCopy(db);
  const std::string out = dir / "bo.jsonl";
  Arm(source, nth);
  auto r = store->ExportUser("bo@example.com", {.path = out});
  Disarm(source);
  g_operation_ok = r.ok();
  std::string problems;
  if (r.ok()) {
    std::ifstream in(out);
    std::string line, last;
    int64_t lines = 0;
    while (std::getline(in, line)) {
      last = line;
      ++lines;
    }
    if (lines < 3 || last.rfind("{\"type\":\"end\"", 0) != 0) problems += " the export file is incomplete;";
  } else {
    for (const std::string& f : StrayFiles(dir.path(), db)) problems += " a failed export left " + f + ";";
  }
  {
    fault_check::RawDb raw(db);
    if (fault_check::IntegrityCheck(raw) != "ok") problems += " integrity_check fails;";
  }
  ExpectLiveStoreWhole(*store, db, Portability().messages, &problems);
  return problems;
}

// An import of ana's export (after her erasure) under the fault: she is back whole — her rows, her spend moved
// back from the retained cost — or not at all; either way every invariant holds, the spend is unchanged, and a
// healthy import afterwards brings her back.
std::string ImportRun(const Source& source, uint64_t nth) {
  TempDir dir;
  const std::string db = dir / "live.db";
  auto store = PortabilityCopy(db);
  Arm(source, nth);
  auto r = store->ImportUser({.path = Portability().ana_export});
  Disarm(source);
  g_operation_ok = r.ok();
  std::string problems;
  const int64_t messages = QueryInt(db, "SELECT count(*) FROM messages");
  const int64_t back = QueryInt(db, "SELECT count(*) FROM users WHERE key = 'ana@example.com'");
  if (r.ok() != (back == 1)) problems += " the user's row does not match the import's result;";
  if (messages != (back == 1 ? 2 : 1) * Portability().messages) problems += " the messages are partly imported;";
  problems += SpendKeptProblems(*store, db, {.days = 30}, Portability().spent);
  if (!r.ok()) {
    auto healthy = store->ImportUser({.path = Portability().ana_export});
    if (!healthy.ok()) return problems + " the import after the fault fails: " + healthy.status().ToString();
  }
  problems += IndexAndAuditProblems(*store);
  ExpectLiveStoreWhole(*store, db, 2 * Portability().messages, &problems);
  return problems;
}

struct OpsParam {
  const char* operation;
  Scenario run;
};

class OpsFaultSweep : public ::testing::TestWithParam<OpsParam> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fault_vfs::Install());
    fault_vfs::SetRealSync(false);  // no power loss simulated: SQLite still sees every xSync
    util::SetIoFaultHook(&OwnHook);
  }
  void TearDown() override {
    fault_vfs::Disarm();
    fault_vfs::SetRealSync(true);
    g_own_op = -1;
    util::SetIoFaultHook(nullptr);
  }
};

TEST_P(OpsFaultSweep, EveryFaultFailsCleanlyOrSucceedsWhole) {
  uint64_t stride = 1;
  if (const char* env = std::getenv("CONVSTORE_FAULT_SWEEP_STRIDE"); env != nullptr && std::atoll(env) > 0)
    stride = static_cast<uint64_t>(std::atoll(env));
  for (const Source& source : kSources) {
    // Dry run: the scenario's checks on a healthy run, and how many calls of this kind its operation makes (the
    // scenario's own setup runs unarmed; only the operation is counted).
    const std::string healthy = GetParam().run(source, 0);
    ASSERT_EQ(healthy, "") << GetParam().operation << " fails its checks without faults";
    const uint64_t calls = g_calls_while_armed.load();
    const uint64_t fired_before = Fired(source);
    int failing = 0;
    uint64_t runs = 0;
    for (uint64_t n = 1; n <= calls; n += stride) {
      ++runs;
      const uint64_t fired_before_run = Fired(source);
      std::string problems = GetParam().run(source, n);
      // A failure of convstore's own I/O is never swallowed: an operation that met one reports an error.
      if (source.own >= 0 && Fired(source) > fired_before_run && g_operation_ok)
        problems += " a fault of convstore's own I/O fired and the operation still reported success;";
      if (!problems.empty() && ++failing <= 5)
        ADD_FAILURE() << GetParam().operation << ", " << source.name << " fault at call " << n << " of " << calls
                      << ":" << problems;
    }
    EXPECT_EQ(failing, 0) << GetParam().operation << ", " << source.name;
    EXPECT_GE(Fired(source) - fired_before, runs) << GetParam().operation << ", " << source.name
                                                  << ": some armed faults never fired";
    std::printf("%s / %s: %llu calls, %llu faulted runs, %llu faults fired\n", GetParam().operation, source.name,
                static_cast<unsigned long long>(calls), static_cast<unsigned long long>(runs),
                static_cast<unsigned long long>(Fired(source) - fired_before));
  }
}

INSTANTIATE_TEST_SUITE_P(Operations, OpsFaultSweep,
                         ::testing::Values(OpsParam{"backup", BackupRun}, OpsParam{"restore", RestoreRun},
                                           OpsParam{"archive_first_round", ArchiveFirstRun},
                                           OpsParam{"archive", ArchiveRun},
                                           OpsParam{"point_in_time", PointInTimeRun},
                                           OpsParam{"retention", RetentionRun},
                                           OpsParam{"export_user", ExportRun}, OpsParam{"import_user", ImportRun}),
                         [](const ::testing::TestParamInfo<OpsParam>& p) { return std::string(p.param.operation); });

}  // namespace
}  // namespace convstore
