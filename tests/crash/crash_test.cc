// kill -9 at random moments: a child process writes single messages and batches, deletes and pops singles, and
// reports every acknowledged write to the parent through a pipe; the parent SIGKILLs it, then checks the file: it
// opens, integrity_check is ok, every acknowledged message is present exactly once unless its removal was begun,
// every acknowledged removal left a tombstone and no message, no batch is partly visible, and the denormalised
// counters equal a recount (messages for the count; messages and tombstones for tokens and cost). Repeated many
// times on the same file, in both durability modes and with the writer in exclusive mode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "kill_child.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::TempDb;

constexpr int kConversations = 4;

int KillsPerMode() {
  const char* env = std::getenv("CONVSTORE_CRASH_KILLS");
  return env != nullptr ? std::max(1, std::atoi(env)) : 120;
}

// The child: writes until killed, reporting each acknowledged write as one line (< PIPE_BUF, so atomic).
[[noreturn]] void RunWriter(const std::string& path, Durability durability, bool exclusive,
                            const std::vector<std::string>& convs, int generation, int fd) {
  Options o;
  o.durability = durability;
  o.exclusive = exclusive;
  auto opened = ConversationStore::Open(path, o);
  if (!opened.ok()) ::_exit(3);
  auto& store = *opened;
  std::mt19937_64 rng(static_cast<uint64_t>(generation) * 7919 + static_cast<uint64_t>(::getpid()));
  std::vector<std::pair<std::string, std::string>> mine;  // (message id, request_id) of this child's singles
  auto report = [&](const char* kind, const std::string& id) {
    char line[200];
    const int len = std::snprintf(line, sizeof line, "%s %s\n", kind, id.c_str());
    if (::write(fd, line, static_cast<size_t>(len)) != len) ::_exit(6);
  };
  for (int k = 0;; ++k) {
    const std::string& conv = convs[rng() % convs.size()];
    const uint64_t op = rng() % 20;
    if (op < 2 && !mine.empty()) {
      // Delete one of this child's singles: "D" before (it may land unacknowledged), "X" once acknowledged.
      const size_t i = rng() % mine.size();
      const auto [id, request_id] = mine[i];
      mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(i));
      report("D", request_id);
      if (!store->DeleteMessage(id).ok()) ::_exit(7);
      report("X", request_id);
    } else if (op == 2) {
      // Pop the newest message of a conversation when it is a single (a batch is never split).
      auto last = store->GetLastMessages(conv, 1);
      if (!last.ok()) ::_exit(8);
      if (last->empty() || last->front().request_id.rfind("s-", 0) != 0) continue;
      const std::string request_id = last->front().request_id;
      report("D", request_id);
      auto popped = store->PopMessage(conv);
      if (!popped.ok() || !popped->has_value() || (*popped)->request_id != request_id) ::_exit(9);
      std::erase_if(mine, [&](const auto& m) { return m.second == request_id; });
      report("X", request_id);
    } else if (op < 14) {
      NewMessage m;
      m.role = rng() % 2 ? Role::kAssistant : Role::kUser;
      m.content = "single " + std::to_string(k);
      m.tokens_input = static_cast<int64_t>(rng() % 5000);
      m.tokens_output = static_cast<int64_t>(rng() % 2000);
      m.cost_nanousd = static_cast<int64_t>(rng() % 100'000'000);
      m.request_id = "s-" + std::to_string(generation) + "-" + std::to_string(k);
      auto added = store->AddMessage(conv, m);
      if (!added.ok()) ::_exit(4);
      mine.emplace_back(added->id, m.request_id);
      report("S", m.request_id);
      // Every other single gets a vector, in a transaction of its own ("V" once acknowledged).
      if (k % 2 == 0) {
        if (!store->PutEmbeddings("crash", {{added->id, {static_cast<float>(k), 1, 2}}}).ok()) ::_exit(10);
        report("V", m.request_id);
      }
    } else {
      const int n = 2 + static_cast<int>(rng() % 30);
      const std::string tag = "b-" + std::to_string(generation) + "-" + std::to_string(k);
      std::vector<NewMessage> batch(static_cast<size_t>(n));
      for (auto& m : batch) {
        m.role = Role::kTool;
        m.content = std::string(static_cast<size_t>(rng() % 3000), 'b');
        m.tokens_input = static_cast<int64_t>(rng() % 100);
        m.cost_nanousd = static_cast<int64_t>(rng() % 1000);
        m.metadata_json = "{\"batch\":\"" + tag + "\",\"size\":" + std::to_string(n) + "}";
      }
      if (!store->AddMessages(conv, batch).ok()) ::_exit(5);
      char line[200];
      const int len = std::snprintf(line, sizeof line, "B %s %d\n", tag.c_str(), n);
      if (::write(fd, line, static_cast<size_t>(len)) != len) ::_exit(6);
    }
  }
}

struct Acknowledged {
  std::set<std::string> singles;
  std::map<std::string, int> batches;  // tag -> size
  std::set<std::string> removing;      // singles whose delete or pop began (present or not)
  std::set<std::string> removed;       // singles whose delete or pop was acknowledged
  std::set<std::string> vectors;       // singles whose vector was acknowledged
};

void ParseReports(const std::string& text, Acknowledged& ack) {
  std::istringstream in(text);
  std::string kind, id;
  while (in >> kind >> id) {
    if (kind == "S") {
      ack.singles.insert(id);
    } else if (kind == "D") {
      ack.removing.insert(id);
    } else if (kind == "X") {
      ack.removed.insert(id);
    } else if (kind == "V") {
      ack.vectors.insert(id);
    } else {
      int n = 0;
      in >> n;
      ack.batches[id] = n;
    }
  }
}

std::vector<std::vector<std::string>> Rows(sqlite3* db, const char* sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto& r = rows.emplace_back();
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
      r.emplace_back(t ? t : "NULL");
    }
  }
  sqlite3_finalize(st);
  return rows;
}

// Everything that must hold after a kill. Returns the number of messages in the file.
size_t Verify(const std::string& path, const Acknowledged& ack, int kill_no) {
  SCOPED_TRACE("after kill " + std::to_string(kill_no));
  {
    // Opens (and recovers the WAL) with every open-time check: quick_check, the schema against the migrations', and
    // the derived tables' invariants — none of which a kill may break.
    Options checked;
    checked.quick_check_on_open = true;
    auto store = ConversationStore::Open(path, checked);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    // The audit chain (the deletes' and pops' entries, written in their transactions) verifies after every kill.
    if (store.ok()) {
      auto audit = (*store)->VerifyAudit();
      EXPECT_TRUE(audit.ok()) << audit.status().ToString();
      if (audit.ok()) {
        EXPECT_TRUE(audit->ok) << "entry " << audit->first_bad_seq << ": " << audit->problem;
      }
    }
    // The cost rollups (and rows pending) equal a recount from the raw rows; every 8th kill (it reads them all).
    if (store.ok() && kill_no % 8 == 0) {
      auto report = (*store)->VerifyRollups();
      EXPECT_TRUE(report.ok()) << report.status().ToString();
      if (report.ok()) {
        EXPECT_EQ(report->differences, 0) << (report->samples.empty() ? "" : report->samples.front());
      }
      // A vector search over everything finds exactly the vectors in the file, none of a deleted message.
      auto near = (*store)->SearchVectors({.space = "crash", .vector = {1, 1, 1}, .k = 1000});
      EXPECT_TRUE(near.ok()) << near.status().ToString();
      if (near.ok()) {
        sqlite3* raw = nullptr;
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
        const auto stored = Rows(raw, "SELECT min(count(*), 1000) FROM message_embeddings");
        sqlite3_close(raw);
        EXPECT_EQ(std::to_string(near->hits.size()), stored.at(0).at(0));
      }
      // The metadata index equals what the documents imply.
      auto index = (*store)->VerifyMetadataIndex();
      EXPECT_TRUE(index.ok()) << index.status().ToString();
      if (index.ok()) {
        EXPECT_TRUE(index->consistent())
            << "missing " << index->missing << ", extra " << index->extra << ", wrong counts " << index->wrong_counts;
      }
      // The change journal accounts for every message the file holds: inserts minus deletes, over all entries.
      int64_t journaled = 0, after = 0;
      for (bool more = true; more;) {
        JournalQuery q;
        q.after_seq = after;
        q.limit = 10000;
        auto entries = (*store)->ReadJournal(q);
        EXPECT_TRUE(entries.ok()) << entries.status().ToString();
        if (!entries.ok()) break;
        for (const auto& e : *entries) {
          for (const auto& c : e.changes)
            if (c.table == "messages") journaled += c.op == ChangeOp::kInsert ? 1 : c.op == ChangeOp::kDelete ? -1 : 0;
          after = e.seq;
        }
        more = entries->size() == 10000;
      }
      sqlite3* raw = nullptr;
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
      const auto count = Rows(raw, "SELECT count(*) FROM messages");
      sqlite3_close(raw);
      EXPECT_EQ(std::to_string(journaled), count.at(0).at(0)) << "the journal does not account for the messages";
    }
  }
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto integrity = Rows(db, "PRAGMA integrity_check");
  EXPECT_EQ(integrity.size(), 1u);
  EXPECT_EQ(integrity.at(0).at(0), "ok");
  // The journal: gap-free sequence numbers, times that never go back, and no foreign-write marker (only convstore
  // wrote the file).
  EXPECT_EQ(Rows(db, "SELECT count(*) = coalesce(max(seq) - min(seq) + 1, 0) FROM change_journal").at(0).at(0), "1");
  EXPECT_EQ(Rows(db, "SELECT count(*) FROM change_journal a JOIN change_journal b ON b.seq = a.seq + 1 "
                     "WHERE b.committed_at < a.committed_at").at(0).at(0), "0");
  EXPECT_EQ(Rows(db, "SELECT count(*) FROM change_journal WHERE kind <> 0").at(0).at(0), "0");

  // Each acknowledged single is there exactly once (request_id is unique; check it is present).
  std::set<std::string> present;
  for (auto& r : Rows(db, "SELECT request_id FROM messages WHERE request_id IS NOT NULL")) present.insert(r[0]);
  EXPECT_TRUE(Rows(db, "SELECT request_id FROM messages WHERE request_id IS NOT NULL GROUP BY request_id "
                       "HAVING count(*) > 1").empty());
  size_t missing = 0;
  for (const auto& id : ack.singles) missing += present.count(id) == 0 && ack.removing.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "acknowledged single messages lost";
  // An acknowledged delete or pop: no message, one tombstone keeping its request_id (and spend).
  std::set<std::string> tombstoned;
  for (auto& r : Rows(db, "SELECT request_id FROM message_tombstones WHERE request_id IS NOT NULL"))
    tombstoned.insert(r[0]);
  size_t survived = 0, untombstoned = 0;
  for (const auto& id : ack.removed) {
    survived += present.count(id);
    untombstoned += tombstoned.count(id) == 0;
  }
  EXPECT_EQ(survived, 0u) << "messages survived their acknowledged delete";
  EXPECT_EQ(untombstoned, 0u) << "deleted messages left no tombstone";
  for (const auto& id : tombstoned) EXPECT_EQ(present.count(id), 0u) << id << " is both stored and tombstoned";

  // Vectors: every acknowledged one is there while its message is; none without its message (the cascade).
  std::set<std::string> with_vector;
  for (auto& r : Rows(db, "SELECT m.request_id FROM message_embeddings e JOIN messages m ON m.id = e.message_id"))
    with_vector.insert(r[0]);
  size_t vectors_lost = 0;
  for (const auto& id : ack.vectors) vectors_lost += present.count(id) == 1 && with_vector.count(id) == 0;
  EXPECT_EQ(vectors_lost, 0u) << "acknowledged vectors lost";
  EXPECT_EQ(Rows(db, "SELECT count(*) FROM message_embeddings e LEFT JOIN messages m ON m.id = e.message_id "
                     "WHERE m.id IS NULL").at(0).at(0), "0") << "a vector outlived its message";

  // Batches: all or nothing, and every acknowledged one complete.
  std::map<std::string, std::pair<int, int>> batches;  // tag -> (rows, declared size)
  for (auto& r : Rows(db, "SELECT json_extract(metadata, '$.batch'), count(*), json_extract(metadata, '$.size') "
                          "FROM messages WHERE json_extract(metadata, '$.batch') IS NOT NULL GROUP BY 1"))
    batches[r[0]] = {std::stoi(r[1]), std::stoi(r[2])};
  for (const auto& [tag, rs] : batches) EXPECT_EQ(rs.first, rs.second) << "partial batch " << tag;
  for (const auto& [tag, n] : ack.batches) {
    auto it = batches.find(tag);
    EXPECT_TRUE(it != batches.end() && it->second.first == n) << "acknowledged batch lost: " << tag;
  }

  // Counters equal a recount: the count of stored messages, tokens and cost of stored and deleted ones; positions
  // distinct (tombstones included) and below next_position.
  const std::string counters =
                  std::string("SELECT c.uid FROM ") + testing::kConversationsAsRead + " c LEFT JOIN (SELECT conversation_id, sum(live) n, "
                  "coalesce(sum(tokens_input), 0) ti, coalesce(sum(tokens_output), 0) tout, "
                  "coalesce(sum(cost_nanousd), 0) cost, max(position) maxpos, count(DISTINCT position) dpos, "
                  "count(*) rows FROM (SELECT conversation_id, 1 live, position, tokens_input, tokens_output, "
                  "cost_nanousd FROM messages UNION ALL SELECT conversation_id, 0, position, tokens_input, "
                  "tokens_output, cost_nanousd FROM message_tombstones) GROUP BY conversation_id) m "
                  "ON m.conversation_id = c.id "
                  "WHERE c.message_count != coalesce(m.n, 0) OR c.tokens_input != coalesce(m.ti, 0) "
                  "OR c.tokens_output != coalesce(m.tout, 0) OR c.cost_nanousd != coalesce(m.cost, 0) "
                  "OR c.next_position <= coalesce(m.maxpos, -1) OR coalesce(m.dpos, 0) != coalesce(m.rows, 0)";
  auto bad = Rows(db, counters.c_str());
  EXPECT_TRUE(bad.empty()) << "counters differ from a recount in conversation " << (bad.empty() ? "" : bad[0][0]);
  size_t total = static_cast<size_t>(std::stoll(Rows(db, "SELECT count(*) FROM messages").at(0).at(0)));
  sqlite3_close(db);
  return total;
}

// A durability mode, and whether the writer holds the file in exclusive mode (its WAL without a -shm file: the
// reopen after a kill rebuilds the WAL's index from the WAL alone).
struct Mode {
  Durability durability;
  bool exclusive;
};

class CrashTest : public ::testing::TestWithParam<Mode> {};

TEST_P(CrashTest, KilledWriterLosesNothingAcknowledged) {
  TempDb db;
  std::vector<std::string> convs;
  {
    Options o;
    o.durability = GetParam().durability;
    auto store = testing::OpenOrDie(db.path(), o);
    for (int i = 0; i < kConversations; ++i)
      convs.push_back(store->CreateConversation(NewConversation{.user_key = "crash" + std::to_string(i)})->id);
    ASSERT_OK(store->CreateEmbeddingSpace({.name = "crash", .dimension = 3, .metric = VectorMetric::kL2}));
  }
  Acknowledged ack;
  std::mt19937 rng(12345 + static_cast<int>(GetParam().durability) + (GetParam().exclusive ? 7 : 0));
  const int kills = KillsPerMode();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
  int done = 0;
  size_t messages = 0;
  for (; done < kills && std::chrono::steady_clock::now() < deadline; ++done) {
    // Kill at a random moment: sometimes during open, mostly mid-stream.
    const std::string reports = testing::RunAndKill(
        [&](int fd) { RunWriter(db.path(), GetParam().durability, GetParam().exclusive, convs, done, fd); },
        static_cast<useconds_t>(rng() % 40000));
    if (::testing::Test::HasFailure()) break;
    ParseReports(reports, ack);
    messages = Verify(db.path(), ack, done);
    if (::testing::Test::HasFailure()) break;
  }
  size_t batch_messages = 0;
  for (const auto& [tag, n] : ack.batches) batch_messages += static_cast<size_t>(n);
  const char* mode = GetParam().durability == Durability::kFull ? "full"
                     : GetParam().exclusive                        ? "normal, exclusive"
                                                                   : "normal";
  std::printf("crash test (%s): %d kills survived; %zu acknowledged single messages and %zu acknowledged batches "
              "(%zu messages) verified; %zu messages in the file\n",
              mode, done, ack.singles.size(), ack.batches.size(), batch_messages, messages);
  EXPECT_GE(done, std::min(kills, 100)) << "too few kills within the time bound";
}

INSTANTIATE_TEST_SUITE_P(Durability, CrashTest,
                         ::testing::Values(Mode{Durability::kNormal, false}, Mode{Durability::kFull, false},
                                           Mode{Durability::kNormal, true}),
                         [](const ::testing::TestParamInfo<Mode>& p) {
                           return std::string(p.param.durability == Durability::kFull ? "full" : "normal") +
                                  (p.param.exclusive ? "_exclusive" : "");
                         });

}  // namespace
}  // namespace convstore
