// Global budgets against a real PostgreSQL 15 (a throw-away cluster, pg_cluster.h): three processes, each with its
// own store, racing reservations against one hard budget never admit more than it (and fill it); a global refusal
// releases the store's own reservation; settlements and releases reach the ledger; an unreachable PostgreSQL is
// refused or admitted on the local allowance and recorded once it is back; the per-hour settled totals follow the
// ledger; tables of version 1 are upgraded; bad options are clear errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "convstore/convstore.hpp"
#include "pg_database_test.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::PgCluster;
using testing::PgSession;
using testing::TempDb;
using testing::TempDir;

class GlobalBudgetTest : public testing::PgDatabaseTest {
 protected:
  GlobalBudgetTest() : PgDatabaseTest("global") {}
  GlobalBudgetOptions Options() const {
    GlobalBudgetOptions o;
    o.postgres_url = cluster_->ConnInfo(db_);
    return o;
  }
  // A store with team netops and user `user` in it, using the global budgets.
  std::unique_ptr<ConversationStore> Open(const std::string& path, const std::string& user,
                                          const GlobalBudgetOptions& options) {
    auto s = ConversationStore::Open(path);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE((*s)->UpsertTeam({.key = "netops"}).ok());
    EXPECT_TRUE((*s)->UpsertUser({.key = user, .team_key = "netops"}).ok());
    EXPECT_TRUE((*s)->UseGlobalBudgets(options).ok());
    return std::move(*s);
  }

};

BudgetInput TeamCap(NanoUsd limit) {
  return {.name = "netops-cap", .scope = "team", .scope_key = "netops", .period = "month",
          .hard_limit_nanousd = limit};
}

TEST_F(GlobalBudgetTest, RacingProcessesNeverPassTheHardLimit) {
  constexpr int kProcesses = 3;
  constexpr NanoUsd kAmount = 7;
  constexpr int kFits = 300;  // the budget holds exactly this many reservations
  TempDir dir;
  {
    auto admin = Open(dir / "admin.db", "admin", Options());
    ASSERT_TRUE(admin->SetGlobalBudget(TeamCap(kFits * kAmount)).ok());
  }
  int pipes[kProcesses][2];
  pid_t pids[kProcesses];
  for (int p = 0; p < kProcesses; ++p) {
    ASSERT_EQ(pipe(pipes[p]), 0);
    pids[p] = fork();
    ASSERT_GE(pids[p], 0);
    if (pids[p] == 0) {
      // The child: its own store, reserving until the budget refuses it 20 times in a row; every other admitted
      // reservation is settled at its estimate.
      auto store = Open(dir / ("host" + std::to_string(p) + ".db"), "user" + std::to_string(p), Options());
      int admitted = 0, refused_in_a_row = 0, errors = 0;
      for (int k = 0; refused_in_a_row < 20 && k < 2 * kFits; ++k) {
        const std::string id = "h" + std::to_string(p) + "-" + std::to_string(k);
        auto r = store->Reserve({.request_id = id, .user_key = "user" + std::to_string(p),
                                 .estimated_cost_nanousd = kAmount});
        if (r.ok()) {
          ++admitted;
          refused_in_a_row = 0;
          if (k % 2 == 0 &&
              !store->Settle(id, {.user_key = "user" + std::to_string(p), .model = "m", .cost_nanousd = kAmount}).ok())
            ++errors;
        } else if (r.status().code() == Code::kBudgetExceeded) {
          ++refused_in_a_row;
        } else {
          ++errors;
        }
      }
      const std::string line = std::to_string(admitted) + " " + std::to_string(errors) + "\n";
      ssize_t w = write(pipes[p][1], line.data(), line.size());
      _exit(w == static_cast<ssize_t>(line.size()) ? 0 : 1);
    }
    close(pipes[p][1]);
  }
  int total = 0;
  for (int p = 0; p < kProcesses; ++p) {
    char buf[64] = {0};
    ssize_t n = read(pipes[p][0], buf, sizeof buf - 1);
    close(pipes[p][0]);
    int status = 0;
    waitpid(pids[p], &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_GT(n, 0);
    int admitted = 0, errors = 0;
    ASSERT_EQ(std::sscanf(buf, "%d %d", &admitted, &errors), 2) << buf;
    EXPECT_EQ(errors, 0) << "process " << p;
    EXPECT_GT(admitted, 0) << "process " << p;
    total += admitted;
  }
  EXPECT_EQ(total, kFits);  // never more, and the racers filled it
  EXPECT_EQ(session_->Value("SELECT sum(amount_nanousd) FROM convstore_global_ledger WHERE state <> 'released'"),
            std::to_string(kFits * kAmount));
  EXPECT_EQ(session_->Value("SELECT count(DISTINCT store_id) FROM convstore_global_ledger"), "3");
  EXPECT_NE(session_->Value("SELECT count(*) FROM convstore_global_ledger WHERE state = 'settled'"), "0");
}

TEST_F(GlobalBudgetTest, AGlobalRefusalReleasesTheStoresOwnReservation) {
  TempDb file;
  auto store = Open(file.path(), "ana", Options());
  ASSERT_TRUE(store->SetGlobalBudget(TeamCap(100)).ok());
  ASSERT_TRUE(store->Reserve({.request_id = "a", .user_key = "ana", .estimated_cost_nanousd = 80}).ok());
  auto refused = store->Reserve({.request_id = "b", .user_key = "ana", .estimated_cost_nanousd = 30});
  EXPECT_CODE(refused, Code::kBudgetExceeded);
  EXPECT_NE(refused.status().message().find("netops-cap"), std::string::npos) << refused.status().ToString();
  // The store's own reservation "b" was released: it neither holds local budgets nor can be settled.
  auto settle = store->Settle("b", {.user_key = "ana", .model = "m", .cost_nanousd = 30});
  EXPECT_FALSE(settle.ok());
  // Releasing "a" frees the global budget for "b".
  ASSERT_TRUE(store->Release("a").ok());
  EXPECT_EQ(session_->Value("SELECT state FROM convstore_global_ledger WHERE request_id = 'a'"), "released");
  ASSERT_TRUE(store->Reserve({.request_id = "c", .user_key = "ana", .estimated_cost_nanousd = 30}).ok());
  ASSERT_TRUE(store->Settle("c", {.user_key = "ana", .model = "m", .cost_nanousd = 25}).ok());
  EXPECT_EQ(session_->Value("SELECT state || ' ' || amount_nanousd FROM convstore_global_ledger WHERE request_id = 'c'"),
            "settled 25");
  auto listed = store->ListGlobalBudgets();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].settled_nanousd, 25);
  EXPECT_EQ((*listed)[0].reserved_nanousd, 0);
  // A retry of an admitted reservation is not counted twice.
  ASSERT_TRUE(store->Reserve({.request_id = "d", .user_key = "ana", .estimated_cost_nanousd = 10}).ok());
  ASSERT_TRUE(store->Reserve({.request_id = "d", .user_key = "ana", .estimated_cost_nanousd = 10}).ok());
  EXPECT_EQ(session_->Value("SELECT count(*) FROM convstore_global_ledger WHERE request_id = 'd'"), "1");
  ASSERT_TRUE(store->DeleteGlobalBudget("netops-cap").ok());
  EXPECT_CODE(store->DeleteGlobalBudget("netops-cap"), Code::kNotFound);
  EXPECT_EQ(session_->Value("SELECT count(*) FROM convstore_global_ledger"), "0");
}

TEST_F(GlobalBudgetTest, AnUnreachablePostgresIsRefusedOrAdmittedOnTheAllowance) {
  TempDb refuse_file, allow_file;
  GlobalBudgetOptions nowhere = Options();
  nowhere.postgres_url = "host=/nonexistent-convstore-dir port=1 connect_timeout=1";
  auto refusing = Open(refuse_file.path(), "ana", nowhere);
  auto r = refusing->Reserve({.request_id = "x", .user_key = "ana", .estimated_cost_nanousd = 5});
  EXPECT_CODE(r, Code::kUnavailable);
  EXPECT_FALSE(refusing->Settle("x", {.user_key = "ana", .model = "m", .cost_nanousd = 5}).ok());  // released

  GlobalBudgetOptions allowance = Options();
  allowance.when_unreachable = GlobalBudgetFallback::kLocalAllowance;
  allowance.local_allowance_nanousd = 100;
  auto store = Open(allow_file.path(), "bob", allowance);
  ASSERT_TRUE(store->SetGlobalBudget(TeamCap(1'000)).ok());
  ASSERT_TRUE(cluster_->Stop()) << cluster_->error();
  session_.reset();
  EXPECT_TRUE(store->Reserve({.request_id = "o1", .user_key = "bob", .estimated_cost_nanousd = 60}).ok());
  EXPECT_CODE(store->Reserve({.request_id = "o2", .user_key = "bob", .estimated_cost_nanousd = 60}),
              Code::kUnavailable);  // beyond the allowance
  EXPECT_TRUE(store->Settle("o1", {.user_key = "bob", .model = "m", .cost_nanousd = 55}).ok());
  ASSERT_TRUE(cluster_->Start()) << cluster_->error();
  // Back: the next use records what was admitted meanwhile.
  auto listed = store->ListGlobalBudgets();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].settled_nanousd, 55);
  session_ = std::make_unique<PgSession>(cluster_->ConnInfo(db_));
  EXPECT_EQ(session_->Value("SELECT state || ' ' || amount_nanousd FROM convstore_global_ledger WHERE request_id = 'o1'"),
            "settled 55");
}

// A settle or release the ledger missed (the process ended in between, or another handle without global budgets
// did it) is recorded when a handle next connects.
TEST_F(GlobalBudgetTest, SettlementsTheLedgerMissedAreRecordedOnTheNextConnect) {
  TempDb file;
  {
    auto store = Open(file.path(), "ana", Options());
    ASSERT_TRUE(store->SetGlobalBudget(TeamCap(1'000)).ok());
    ASSERT_TRUE(store->Reserve({.request_id = "s", .user_key = "ana", .estimated_cost_nanousd = 300}).ok());
    ASSERT_TRUE(store->Reserve({.request_id = "r", .user_key = "ana", .estimated_cost_nanousd = 300}).ok());
    ASSERT_TRUE(store->Reserve({.request_id = "o", .user_key = "ana", .estimated_cost_nanousd = 300}).ok());
  }
  {
    auto plain = ConversationStore::Open(file.path());  // no global budgets: the ledger hears nothing
    ASSERT_TRUE(plain.ok());
    ASSERT_TRUE((*plain)->Settle("s", {.user_key = "ana", .model = "m", .cost_nanousd = 120}).ok());
    ASSERT_TRUE((*plain)->Release("r").ok());
  }
  EXPECT_EQ(session_->Value("SELECT string_agg(request_id || ' ' || state, ',' ORDER BY request_id) FROM "
                            "convstore_global_ledger"),
            "o open,r open,s open");
  auto store = Open(file.path(), "ana", Options());
  auto listed = store->ListGlobalBudgets();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].settled_nanousd, 120);
  EXPECT_EQ((*listed)[0].reserved_nanousd, 300);
  EXPECT_EQ(session_->Value("SELECT string_agg(request_id || ' ' || state || ' ' || amount_nanousd, ',' ORDER BY "
                            "request_id) FROM convstore_global_ledger"),
            "o open 300,r released 300,s settled 120");
}

// The per-hour settled totals the admission sums always equal the ledger's settled rows, through settle, release,
// adopting offline reservations, and a budget's deletion.
TEST_F(GlobalBudgetTest, SettledTotalsFollowTheLedgerExactly) {
  TempDb file;
  auto store = Open(file.path(), "ana", Options());
  ASSERT_TRUE(store->SetGlobalBudget(TeamCap(1'000'000)).ok());
  ASSERT_TRUE(store->SetGlobalBudget({.name = "everything", .scope = "global", .period = "day",
                                      .hard_limit_nanousd = 1'000'000}).ok());
  const std::string differences =
      "SELECT count(*) FROM (SELECT budget, hour_us, amount_nanousd FROM convstore_global_settled WHERE "
      "amount_nanousd <> 0 EXCEPT SELECT budget, created_at_us - ((created_at_us % 3600000000) + 3600000000) % "
      "3600000000, sum(amount_nanousd) FROM convstore_global_ledger WHERE state = 'settled' GROUP BY 1, 2) d";
  for (int i = 0; i < 30; ++i) {
    const std::string id = "r" + std::to_string(i);
    ASSERT_TRUE(store->Reserve({.request_id = id, .user_key = "ana", .estimated_cost_nanousd = 1000}).ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(store->Release(id).ok());
    } else if (i % 3 == 1) {
      ASSERT_TRUE(store->Settle(id, {.user_key = "ana", .model = "m", .cost_nanousd = 100 + i}).ok());
    }
  }
  EXPECT_EQ(session_->Value(differences), "0");
  const int64_t settled = 10 * 100 + (1 + 4 + 7 + 10 + 13 + 16 + 19 + 22 + 25 + 28);
  auto listed = store->ListGlobalBudgets();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  for (const GlobalBudgetState& b : *listed) {
    EXPECT_EQ(b.settled_nanousd, settled) << b.budget.name;
    EXPECT_EQ(b.reserved_nanousd, 10 * 1000) << b.budget.name;
  }
  // A settlement rewritten by adoption (as after an outage) moves the total, not adds to it.
  ASSERT_EQ(session_->Exec("UPDATE convstore_global_ledger SET amount_nanousd = amount_nanousd + 7 WHERE request_id = "
                           "'r1'"), "");
  EXPECT_EQ(session_->Value(differences), "0");
  ASSERT_TRUE(store->DeleteGlobalBudget("everything").ok());
  EXPECT_EQ(session_->Value("SELECT count(*) FROM convstore_global_settled WHERE budget = 'everything'"), "0");
  EXPECT_EQ(session_->Value(differences), "0");
}

// Tables made by a convstore that knew version 1 (no global budgets) are upgraded in place by the next sync or
// global-budget use, their rows kept.
TEST_F(GlobalBudgetTest, VersionOneTablesAreUpgraded) {
  TempDb file;
  auto store = ConversationStore::Open(file.path());
  ASSERT_TRUE(store.ok());
  auto c = (*store)->CreateConversation({.user_key = "ana"});
  ASSERT_TRUE(c.ok());
  SyncOptions sync;
  sync.postgres_url = cluster_->ConnInfo(db_);
  ASSERT_TRUE((*store)->SyncToPostgres(sync).ok());
  ASSERT_EQ(session_->Exec("DROP TABLE convstore_global_ledger, convstore_global_settled, convstore_global_budgets; "
                           "DROP FUNCTION convstore_global_settled_track(); UPDATE convstore_schema SET version = 1"),
            "");
  ASSERT_TRUE((*store)->UseGlobalBudgets(Options()).ok());
  auto set = (*store)->SetGlobalBudget(TeamCap(100));
  ASSERT_TRUE(set.ok()) << set.ToString();
  EXPECT_EQ(session_->Value("SELECT max(version) FROM convstore_schema"), "4");  // the newest PostgreSQL schema version
  EXPECT_EQ(session_->Value("SELECT count(*) FROM conversations"), "1");
  auto again = (*store)->SyncToPostgres(sync);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->loaded);
}

TEST_F(GlobalBudgetTest, BadOptionsAreClear) {
  TempDb file;
  auto s = ConversationStore::Open(file.path());
  ASSERT_TRUE(s.ok());
  EXPECT_CODE((*s)->SetGlobalBudget(TeamCap(1)), Code::kInvalidArgument);  // not in use yet
  GlobalBudgetOptions o = Options();
  o.postgres_url = "postgresql://%zz@/x";
  EXPECT_CODE((*s)->UseGlobalBudgets(o), Code::kInvalidArgument);
  o = Options();
  o.local_allowance_nanousd = -1;
  EXPECT_CODE((*s)->UseGlobalBudgets(o), Code::kInvalidArgument);
  o = Options();
  o.schema = "";
  EXPECT_CODE((*s)->UseGlobalBudgets(o), Code::kInvalidArgument);
  ASSERT_TRUE((*s)->UseGlobalBudgets(Options()).ok());
  BudgetInput bad = TeamCap(1);
  bad.period = "fortnight";
  EXPECT_CODE((*s)->SetGlobalBudget(bad), Code::kInvalidArgument);
  auto memory = ConversationStore::Open(ConversationStore::kInMemory);
  ASSERT_TRUE(memory.ok());
  EXPECT_CODE((*memory)->UseGlobalBudgets(Options()), Code::kInvalidArgument);
}

}  // namespace
}  // namespace convstore
