// Group commit: a failing write is rolled back alone; if SQLite drops the whole transaction, the others are rerun.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "sqlite/connection.h"
#include "sqlite/write_queue.h"
#include <atomic>
#include <mutex>
#include <thread>

#include "test_util.h"

namespace convstore {
namespace {

using testing::QueryInt;
using testing::TempDb;

class WriteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sqlite::ConnectionConfig c;
    c.create = true;
    auto conn = sqlite::Connection::Open(db_.path(), c);
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(*conn);
    ASSERT_OK(conn_->Exec("CREATE TABLE t(x INTEGER)", "test"));
    queue_ = std::make_unique<sqlite::WriteQueue>(conn_.get(), &mu_);
  }
  // A write that inserts x; counts how often its body ran.
  void Insert(sqlite::PendingWrite& w, int x, int& runs) {
    w.body = [x, &runs](sqlite::Connection& c) {
      ++runs;
      return c.Exec("INSERT INTO t VALUES (" + std::to_string(x) + ")", "insert");
    };
  }
  int64_t Count(const std::string& where = "1") {
    return QueryInt(db_.path(), "SELECT count(*) FROM t WHERE " + where);
  }
  TempDb db_;
  std::mutex mu_;
  std::unique_ptr<sqlite::Connection> conn_;
  std::unique_ptr<sqlite::WriteQueue> queue_;
};

TEST_F(WriteQueueTest, FailingWriteIsRolledBackAlone) {
  sqlite::PendingWrite a, b, c;
  int ra = 0, rb = 0, rc = 0;
  Insert(a, 1, ra);
  Insert(c, 3, rc);
  b.body = [&rb](sqlite::Connection& conn) {
    ++rb;
    (void)conn.Exec("INSERT INTO t VALUES (2)", "insert");
    return Status::InvalidArgument("b refuses");
  };
  {
    std::lock_guard lock(mu_);
    queue_->RunGroup({&a, &b, &c});
  }
  EXPECT_TRUE(a.status.ok());
  EXPECT_EQ(b.status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(c.status.ok());
  EXPECT_EQ(Count(), 2);
  EXPECT_EQ(Count("x = 2"), 0);
  EXPECT_EQ(ra + rb + rc, 3);  // one transaction, nothing rerun
}

TEST_F(WriteQueueTest, WritesLostWithAnAbortedTransactionAreRerun) {
  sqlite::PendingWrite a, b, c;
  int ra = 0, rb = 0, rc = 0;
  Insert(a, 1, ra);
  Insert(c, 3, rc);
  b.body = [&rb](sqlite::Connection& conn) {
    ++rb;
    // What SQLite does on SQLITE_FULL or an I/O error: the whole transaction is rolled back.
    sqlite3_exec(conn.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    return Status::IoError("disk full (simulated)");
  };
  {
    std::lock_guard lock(mu_);
    queue_->RunGroup({&a, &b, &c});
  }
  EXPECT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(b.status.code(), Code::kIoError);
  EXPECT_TRUE(c.status.ok()) << c.status.ToString();
  EXPECT_EQ(ra, 2);  // ran, lost with the transaction, ran again
  EXPECT_EQ(rb, 1);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(Count("x = 1"), 1);
  EXPECT_EQ(Count("x = 3"), 1);
  EXPECT_EQ(Count(), 2);
  EXPECT_NE(sqlite3_get_autocommit(conn_->raw()), 0);  // no transaction left open
}

TEST_F(WriteQueueTest, SubmitFromManyThreadsCommitsEverything) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        sqlite::PendingWrite w;
        int runs = 0;
        Insert(w, t * 1000 + i, runs);
        if (!queue_->Submit(w).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count(), 800);
}

}  // namespace
}  // namespace convstore
