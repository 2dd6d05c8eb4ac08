// kill -9 during the whole-file operations: a child process backs up, verifies, restores, archives (in-process,
// while writing and reporting each acknowledged message through a pipe) or restores to a point in time, and the
// parent SIGKILLs it at a random moment. Afterwards: every backup under its name verifies (a half-made one is
// never presented as good), the restore target is exactly one of the states it could hold (the old store or a
// complete restored one) and opens cleanly, the archive lists without problems and — after the next archiver's
// round — restores to exactly the live store, and the live store holds every acknowledged message.
//
// CONVSTORE_OPS_CRASH_KILLS sets the number of kills, spread over the five operations (default 120).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "convstore/convstore.hpp"
#include "kill_child.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;

int Kills() {
  const char* env = std::getenv("CONVSTORE_OPS_CRASH_KILLS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 120;
}

// Every user table of the file as text, read-only (messages and tombstones included; the journal and the
// archive's consumer position excluded, as a restore rewrites them).
std::string State(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "<does not open>";
  }
  std::string out;
  for (const char* table : {"conversations", "messages", "message_tombstones", "users"}) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = std::string("SELECT * FROM ") + table + " ORDER BY 1";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      out += "<no table " + std::string(table) + ">";
      continue;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        out += t ? reinterpret_cast<const char*>(t) : "NULL";
        out += "|";
      }
      out += "\n";
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

struct Paths {
  std::string dir, live, archive, backups, target, good_a, good_b;
};

enum Op { kBackup = 0, kVerify = 1, kRestore = 2, kArchive = 3, kPointInTime = 4, kOps = 5 };
const char* kOpNames[] = {"backup", "verify", "restore", "archive", "point-in-time restore"};

// The child: repeats one operation until killed. Writes "S <request_id>" for each acknowledged message.
[[noreturn]] void RunChild(const Paths& p, Op op, int generation, int fd, int64_t seq_a, int64_t seq_b) {
  std::mt19937_64 rng(static_cast<uint64_t>(generation) * 7919 + static_cast<uint64_t>(::getpid()));
  switch (op) {
    case kBackup: {
      auto store = ConversationStore::Open(p.live);
      if (!store.ok()) ::_exit(3);
      for (int k = 0;; ++k) {
        BackupOptions o;
        o.path = p.backups + "/b-" + std::to_string(generation) + "-" + std::to_string(k) + ".db";
        if (!(*store)->Backup(o).ok()) ::_exit(4);
      }
    }
    case kVerify:
      for (;;) {
        auto check = VerifyBackup(rng() % 2 ? p.good_a : p.good_b);
        if (!check.ok() || !check->ok) ::_exit(5);
      }
    case kRestore:
      for (;;)
        if (!RestoreBackup(rng() % 2 ? p.good_a : p.good_b, p.target).ok()) ::_exit(6);
    case kPointInTime:
      for (;;) {
        PointInTimeOptions o;
        o.to_seq = rng() % 2 ? seq_a : seq_b;
        if (!RestoreToPoint(p.archive, p.target, o).ok()) ::_exit(7);
      }
    default: {
      auto store = ConversationStore::Open(p.live);
      if (!store.ok()) ::_exit(3);
      ArchiveOptions a;
      a.directory = p.archive;
      a.interval_us = 1000 + static_cast<int64_t>(rng() % 5000);
      a.base_backup_interval_us = 1'000'000;
      if (!(*store)->StartArchiving(a).ok()) ::_exit(8);
      auto conv = (*store)->ListConversations({.user_key = "ops@example.com", .limit = 1});
      if (!conv.ok() || conv->items.empty()) ::_exit(9);
      for (int k = 0;; ++k) {
        NewMessage m;
        m.content = "archived " + std::to_string(k);
        m.cost_nanousd = 10;
        m.request_id = "a-" + std::to_string(generation) + "-" + std::to_string(k);
        if (!(*store)->AddMessage(conv->items[0].id, m).ok()) ::_exit(10);
        char line[100];
        const int len = std::snprintf(line, sizeof line, "S %s\n", m.request_id.c_str());
        if (::write(fd, line, static_cast<size_t>(len)) != len) ::_exit(11);
        if (k % 8 == 0) ::usleep(500);
      }
    }
  }
}

TEST(OpsCrash, KillsDuringBackupVerifyRestoreArchiveAndPointInTimeRestoreLoseNothing) {
  char tmpl[] = "/tmp/convstore-ops-crash-XXXXXX";
  Paths p;
  p.dir = ::mkdtemp(tmpl);
  p.live = p.dir + "/live.db";
  p.archive = p.dir + "/archive";
  p.backups = p.dir + "/backups";
  p.target = p.dir + "/target.db";
  p.good_a = p.dir + "/good-a.db";
  p.good_b = p.dir + "/good-b.db";
  ASSERT_EQ(::mkdir(p.backups.c_str(), 0700), 0);

  // Two known states, as backups and as archived journal positions; the target starts as a third.
  int64_t seq_a = 0, seq_b = 0;
  std::string state_a, state_b;
  {
    auto store = OpenOrDie(p.live);
    auto conv = store->CreateConversation({.user_key = "ops@example.com", .title = "ops"});
    ASSERT_OK(conv);
    ArchiveOptions a;
    a.directory = p.archive;
    ASSERT_OK(store->ArchiveNow(a));
    for (int i = 0; i < 20; ++i) ASSERT_OK(store->AddMessage(conv->id, {.content = "a" + std::to_string(i)}));
    BackupOptions b;
    b.path = p.good_a;
    ASSERT_OK(store->Backup(b));
    seq_a = store->GetJournalStatus()->last_seq;
    state_a = State(p.live);
    for (int i = 0; i < 20; ++i) ASSERT_OK(store->AddMessage(conv->id, {.content = "b" + std::to_string(i)}));
    b.path = p.good_b;
    ASSERT_OK(store->Backup(b));
    seq_b = store->GetJournalStatus()->last_seq;
    state_b = State(p.live);
    ASSERT_OK(store->ArchiveNow(a));
  }
  {
    auto t = OpenOrDie(p.target);
    ASSERT_OK(t->CreateConversation({.user_key = "old@example.com"}));
  }
  const std::string state_old = State(p.target);
  std::set<std::string> target_states = {state_old, state_a, state_b};
  std::set<std::string> acknowledged;

  std::mt19937 rng(4242);
  const int kills = Kills();
  int per_op[kOps] = {0, 0, 0, 0, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  int done = 0;
  for (; done < kills && std::chrono::steady_clock::now() < deadline; ++done) {
    const Op op = static_cast<Op>(done % kOps);
    SCOPED_TRACE(std::string("kill ") + std::to_string(done) + " during " + kOpNames[op]);
    const std::string reports = testing::RunAndKill([&](int fd) { RunChild(p, op, done, fd, seq_a, seq_b); },
                                                    static_cast<useconds_t>(1000 + rng() % 60000));
    if (::testing::Test::HasFailure()) break;
    std::istringstream in(reports);
    for (std::string kind, id; in >> kind >> id;) acknowledged.insert(id);
    ++per_op[op];

    switch (op) {
      case kBackup: {
        // Every backup under its name verifies; then they go, to keep the directory small.
        auto listed = ListBackups(p.backups);
        ASSERT_OK(listed);
        for (const auto& b : *listed) {
          if (!b.present) continue;  // a manifest whose backup never got its name: listed as missing, not good
          auto check = VerifyBackup(b.path);
          ASSERT_OK(check);
          EXPECT_TRUE(check->ok) << b.path << ": " << (check->problems.empty() ? "" : check->problems[0]);
        }
        ASSERT_EQ(std::system(("rm -f '" + p.backups + "'/* '" + p.backups + "'/.*.tmp-* 2>/dev/null").c_str()) >= 0, true);
        break;
      }
      case kVerify:
        for (const auto& good : {p.good_a, p.good_b}) {
          auto check = VerifyBackup(good);
          ASSERT_OK(check);
          EXPECT_TRUE(check->ok);
        }
        break;
      case kRestore:
      case kPointInTime: {
        const std::string now = State(p.target);
        EXPECT_TRUE(target_states.count(now) == 1) << "the target is neither the old store nor a restored one";
        auto check = CheckStore(p.target);
        ASSERT_OK(check);
        EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
        EXPECT_FALSE(Exists(p.target + "-journal"));
        break;
      }
      default: {
        // The live store holds every acknowledged message; the archive lists cleanly, and after a round of the
        // next archiver it restores to exactly the live store.
        auto info = InspectStore(p.live);
        ASSERT_OK(info);
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open_v2(p.live.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
        std::set<std::string> present;
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db, "SELECT request_id FROM messages WHERE request_id IS NOT NULL", -1, &st, nullptr);
        while (sqlite3_step(st) == SQLITE_ROW) present.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
        sqlite3_finalize(st);
        sqlite3_close(db);
        size_t lost = 0;
        for (const auto& id : acknowledged) lost += present.count(id) == 0;
        EXPECT_EQ(lost, 0u) << "acknowledged messages lost";
        auto listing = ListArchive(p.archive);
        ASSERT_OK(listing);
        for (const auto& g : listing->generations)
          EXPECT_TRUE(g.problems.empty()) << g.id << ": " << (g.problems.empty() ? "" : g.problems[0]);
        if (per_op[op] % 4 == 1) {
          auto store = OpenOrDie(p.live);
          ArchiveOptions a;
          a.directory = p.archive;
          auto round = store->ArchiveNow(a);
          ASSERT_OK(round);
          const int64_t last = store->GetJournalStatus()->last_seq;
          EXPECT_EQ(round->archived_seq, last);
          ASSERT_OK(store->Close());
          const std::string copy = p.dir + "/copy.db";
          PointInTimeOptions o;
          o.to_seq = last;
          ASSERT_OK(RestoreToPoint(p.archive, copy, o));
          EXPECT_EQ(State(copy), State(p.live)) << "the archive does not restore to the live store";
        }
        break;
      }
    }
    if (::testing::Test::HasFailure()) break;
  }
  std::printf("ops crash test: %d kills (backup %d, verify %d, restore %d, archive %d, point-in-time %d); %zu "
              "acknowledged messages kept\n",
              done, per_op[0], per_op[1], per_op[2], per_op[3], per_op[4], acknowledged.size());
  EXPECT_GE(done, std::min(kills, 100)) << "too few kills within the time bound";
  if (::testing::Test::HasFailure())
    std::fprintf(stderr, "kept %s for inspection\n", p.dir.c_str());
  else if (std::system(("rm -rf '" + p.dir + "'").c_str()) != 0)
    std::fprintf(stderr, "could not remove %s\n", p.dir.c_str());
}

}  // namespace
}  // namespace convstore
