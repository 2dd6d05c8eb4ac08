// Point-in-time restore, differentially: a random multi-threaded workload (every kind of write: messages added,
// edited and deleted, conversations deleted, budgets set, reservations settled, prices changed, API usage) runs
// while the store archives itself in-process; a recorder takes consistent snapshots of the live file (the journal
// position and every journaled table, in one read transaction). Afterwards each snapshot is restored from the
// archive — by sequence number, by its exact commit time, and by an instant between it and the next commit — and
// must equal the snapshot and pass every check.
//
// CONVSTORE_PITR_INSTANTS sets how many snapshots are restored (default 200; the sanitizer stage runs fewer).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "table_dump.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::TempDb;

int Instants() {
  const char* env = std::getenv("CONVSTORE_PITR_INSTANTS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 200;
}

struct Snapshot {
  int64_t seq = 0;
  std::string state;  // every journaled table as text (kept as its hash in the recorded list)
};

struct Recorded {
  int64_t seq = 0;
  size_t state_hash = 0;
  size_t state_bytes = 0;
};

// The journal position and every journaled table, from one read transaction of a raw connection.
Snapshot Take(sqlite3* db) {
  Snapshot s;
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM change_journal", -1, &st, nullptr);
  if (sqlite3_step(st) == SQLITE_ROW) s.seq = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  s.state = testing::DumpJournaledTables(db);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  return s;
}


// One writer thread: random writes of every kind until `enough` (or `ops` writes), pausing briefly between them
// so the recorder sees many distinct states.
void Writer(ConversationStore& store, int id, int ops, const std::atomic<bool>* enough, std::atomic<int>* failures) {
  std::mt19937_64 rng(1000 + id);
  const std::string user = "user" + std::to_string(id) + "@example.com";
  std::vector<std::string> conversations, messages;
  if (Status s = store.UpsertUser({.key = user}).status(); !s.ok()) {
    ++*failures;
    ADD_FAILURE() << "writer " << id << ": " << s.ToString();
    return;
  }
  auto pick = [&](std::vector<std::string>& v) -> std::string {
    if (v.empty()) return "";
    return v[rng() % v.size()];
  };
  for (int i = 0; i < ops && !enough->load(); ++i) {
    ::usleep(static_cast<useconds_t>(rng() % 400));
    Status s;
    switch (rng() % 10) {
      case 0: {
        auto c = store.CreateConversation({.user_key = user, .title = "t" + std::to_string(i)});
        if (c.ok()) conversations.push_back(c->id);
        s = c.status();
        break;
      }
      case 1:
      case 2:
      case 3: {
        if (conversations.empty()) break;
        NewMessage m;
        m.content = "m" + std::to_string(i);
        m.cost_nanousd = static_cast<int64_t>(rng() % 100000);
        m.metadata_json = R"({"team":"t)" + std::to_string(rng() % 3) + R"("})";
        auto r = store.AddMessage(pick(conversations), m);
        if (r.ok()) messages.push_back(r->id);
        s = r.status();
        break;
      }
      case 4: {
        if (messages.empty()) break;
        auto r = store.EditMessage(pick(messages), {.content = "edited " + std::to_string(i),
                                                    .metadata_json = R"({"team":"edited"})"});
        s = r.ok() || r.status().code() == Code::kNotFound ? Status::OK() : r.status();
        break;
      }
      case 5: {
        if (messages.empty()) break;
        auto r = store.DeleteMessage(pick(messages));
        s = r.ok() || r.status().code() == Code::kNotFound ? Status::OK() : r.status();
        break;
      }
      case 6: {
        if (conversations.size() < 3) break;
        const size_t k = rng() % conversations.size();
        s = store.DeleteConversation(conversations[k]);
        if (s.code() == Code::kNotFound) s = Status::OK();
        conversations.erase(conversations.begin() + static_cast<long>(k));
        break;
      }
      case 7: {
        s = store.SetBudget({.name = "b" + std::to_string(id), .scope = "user", .scope_key = user, .period = "day",
                             .soft_limit_nanousd = static_cast<int64_t>(1'000'000 + rng() % 1000)})
                .status();
        break;
      }
      case 8: {
        s = store.AddPrice({.model = "model-" + std::to_string(id), .effective_from = 1'700'000'000'000'000 + i,
                            .input_per_mtok = static_cast<int64_t>(rng() % 5'000'000),
                            .output_per_mtok = static_cast<int64_t>(rng() % 9'000'000)})
                .status();
        break;
      }
      default: {
        const std::string request = "r" + std::to_string(id) + "-" + std::to_string(i);
        auto reserved = store.Reserve({.request_id = request, .user_key = user, .estimated_cost_nanousd = 1000});
        if (!reserved.ok()) {
          s = reserved.status();
          break;
        }
        s = store.Settle(request, {.user_key = user, .model = "model-" + std::to_string(id), .tokens_input = 100,
                                   .tokens_output = 10})
                .status();
        break;
      }
    }
    if (!s.ok()) {
      ++*failures;
      ADD_FAILURE() << "writer " << id << ": " << s.ToString();
    }
  }
}

TEST(PointInTimeDifferential, EveryRecordedInstantRestoresExactly) {
  TempDb db;
  char tmpl[] = "/tmp/convstore-pitr-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const int instants = Instants();
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->CreateConversation({.user_key = "seed@example.com"}));
  ArchiveOptions archive;
  archive.directory = dir + "/archive";
  archive.interval_us = 2'000;
  archive.base_backup_interval_us = 1'000'000;  // several base backups over the run
  ASSERT_OK(store->StartArchiving(archive));

  std::atomic<bool> done{false}, enough{false};
  std::vector<Recorded> snapshots;
  std::thread recorder([&] {
    sqlite3* raw = nullptr;
    sqlite3_open_v2(db.path().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_busy_timeout(raw, 5000);
    auto record = [&] {
      Snapshot s = Take(raw);
      if (snapshots.empty() || snapshots.back().seq != s.seq)
        snapshots.push_back({s.seq, std::hash<std::string>()(s.state), s.state.size()});
      if (static_cast<int>(snapshots.size()) >= instants + 20) enough = true;
    };
    while (!done.load()) {
      record();
      ::usleep(1000);
    }
    record();
    sqlite3_close(raw);
  });
  std::atomic<int> failures{0};
  const int ops = 20 * instants;  // a bound; the writers stop once the recorder has enough distinct states
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) writers.emplace_back(Writer, std::ref(*store), w, ops, &enough, &failures);
  for (auto& t : writers) t.join();
  done = true;
  recorder.join();
  auto totals = store->StopArchiving();
  ASSERT_OK(totals);
  ASSERT_EQ(failures.load(), 0);
  auto status = store->GetJournalStatus();
  ASSERT_OK(status);
  EXPECT_EQ(totals->archived_seq, status->last_seq);

  // Commit times of every entry, for the restores by time.
  std::map<int64_t, Micros> commit_time;
  for (int64_t after = 0;;) {
    auto entries = store->ReadJournal({.after_seq = after, .limit = 10000, .decode = false});
    ASSERT_OK(entries);
    for (const auto& e : *entries) commit_time[e.seq] = e.committed_at;
    if (entries->size() < 10000) break;
    after = entries->back().seq;
  }
  auto listing = ListArchive(archive.directory);
  ASSERT_OK(listing);
  ASSERT_EQ(listing->generations.size(), 1u);
  EXPECT_GE(listing->generations[0].base_backups.size(), 1u);
  const int64_t first_restorable = listing->generations[0].first_seq;

  std::vector<Recorded*> chosen;
  for (auto& s : snapshots)
    if (s.seq >= first_restorable) chosen.push_back(&s);
  ASSERT_GE(static_cast<int>(chosen.size()), instants) << "too few distinct snapshots recorded";
  std::mt19937_64 rng(42);
  std::shuffle(chosen.begin(), chosen.end(), rng);
  if (static_cast<int>(chosen.size()) > instants) chosen.resize(static_cast<size_t>(instants));
  std::printf("point-in-time differential: %zu snapshots recorded over %lld journal entries; restoring %zu\n",
              snapshots.size(), static_cast<long long>(status->last_seq), chosen.size());

  const std::string target = dir + "/restored.db";
  int restored = 0;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const Recorded& s = *chosen[i];
    PointInTimeOptions o;
    const Micros at = commit_time[s.seq];
    auto next = commit_time.upper_bound(s.seq);
    // Commit times never go backwards, but the next entry may have this one's very time (a wall clock stepped
    // back): then no instant names this entry alone, and it is restored by its seq.
    const bool an_instant_names_it = next == commit_time.end() || next->second > at;
    switch (an_instant_names_it ? i % 3 : 0) {
      case 0: o.to_seq = s.seq; break;
      case 1: o.to_time = at; break;
      default:
        // An instant between this commit and the next (the same state), when there is room for one.
        o.to_time = next != commit_time.end() && next->second > at + 1 ? at + (next->second - at) / 2 : at;
        break;
    }
    auto r = RestoreToPoint(archive.directory, target, o);
    ASSERT_OK(r);
    ASSERT_EQ(r->seq, s.seq) << "restore " << i;
    const std::string state = testing::DumpJournaledTables(target);
    ASSERT_EQ(state.size(), s.state_bytes) << "restore " << i << " to entry " << s.seq;
    ASSERT_EQ(std::hash<std::string>()(state), s.state_hash) << "restore " << i << " to entry " << s.seq;
    if (i % 10 == 0) {
      auto check = CheckStore(target);
      ASSERT_OK(check);
      EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
    }
    ++restored;
  }
  std::printf("point-in-time differential: %d restores equal their recorded state\n", restored);
  if (std::system(("rm -rf '" + dir + "'").c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
}

}  // namespace
}  // namespace convstore
