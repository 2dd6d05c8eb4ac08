// WAL write gathering (src/sqlite/wal_write_gathering.h): a commit reaches the WAL in one write; what other
// connections read, what a crash leaves and what a failed write leaves are the same as without the shim.
// The fault VFS is the default VFS here, so the shim wraps it: its counters see the writes the shim makes.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "fault_vfs.h"
#include "sqlite/connection.h"
#include "sqlite/wal_write_gathering.h"
#include "test_util.h"

namespace convstore {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class WalWriteGatheringTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(fault_vfs::Install()); }

  void SetUp() override {
    fault_vfs::Disarm();
    fault_vfs::SetRealSync(false);
    path_ = dir_ / "g.db";
    conn_ = OpenConnection(path_);
    ASSERT_NE(conn_, nullptr);
    ASSERT_OK(conn_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE INDEX t_v ON t(v);",
                          "create"));
  }
  void TearDown() override {
    fault_vfs::Disarm();
    fault_vfs::SetRealSync(true);
  }

  static std::unique_ptr<sqlite::Connection> OpenConnection(const std::string& path) {
    sqlite::ConnectionConfig c;
    c.create = true;
    auto conn = sqlite::Connection::Open(path, c);
    if (!conn.ok()) return nullptr;
    if (!(*conn)->EnableWal().ok()) return nullptr;
    return std::move(*conn);
  }

  Status Insert(int64_t id, size_t bytes) {
    return conn_->Exec("INSERT INTO t(id, v) VALUES (" + std::to_string(id) + ", printf('%0" + std::to_string(bytes) +
                           "d', " + std::to_string(id) + "))",
                       "insert");
  }

  // count(*) and sum(id) of t, read with SQLite's default VFS through a connection of its own.
  static std::pair<int64_t, int64_t> Read(const std::string& path) {
    return {testing::QueryInt(path, "SELECT count(*) FROM t"), testing::QueryInt(path, "SELECT coalesce(sum(id), 0) FROM t")};
  }

  // PRAGMA integrity_check of a file, opened with SQLite's default VFS.
  static std::string IntegrityCheck(const std::string& path) {
    sqlite3* db = nullptr;
    std::string out = "open failed";
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW)
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
  }

  // count(*) of t as the writer's own transaction sees it.
  int64_t CountInTransaction() {
    auto st = conn_->Prepare("SELECT count(*) FROM t");
    if (!st.ok()) return -1;
    auto row = st->Step("count");
    return row.ok() && *row ? st->Int(0) : -1;
  }

  // A copy of the database and its WAL as a crash would leave them (no checkpoint, no close): opened afresh, SQLite
  // recovers the WAL from the frames alone.
  std::string CrashCopy() {
    const std::string copy = dir_ / "copy.db";
    fs::copy_file(path_, copy, fs::copy_options::overwrite_existing);
    fs::copy_file(path_ + "-wal", copy + "-wal", fs::copy_options::overwrite_existing);
    fs::remove(copy + "-shm");
    // Recovery needs a connection that may write the copy's WAL index (a read-only one would skip the WAL).
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(copy.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK)
      sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return copy;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<sqlite::Connection> conn_;
};

TEST_F(WalWriteGatheringTest, TheShimIsRegisteredUnderItsName) {
  const char* name = sqlite::GatheringVfsName();
  ASSERT_NE(name, nullptr);
  EXPECT_NE(sqlite3_vfs_find(name), nullptr);
  EXPECT_NE(sqlite3_vfs_find(nullptr), sqlite3_vfs_find(name)) << "the shim must not become the default VFS";
}

TEST_F(WalWriteGatheringTest, EachCommitIsOneWrite) {
  ASSERT_OK(Insert(1, 100));  // the WAL's first commit also writes its header
  const fault_vfs::Counters before = fault_vfs::Get();
  constexpr int kCommits = 50;
  for (int i = 2; i < 2 + kCommits; ++i) ASSERT_OK(Insert(i, 400));
  const fault_vfs::Counters after = fault_vfs::Get();
  EXPECT_EQ(after.wal_commits - before.wal_commits, uint64_t{kCommits});
  // Each commit writes the table's page and the index's page (two frames, four writes without the shim).
  EXPECT_EQ(after.writes - before.writes, uint64_t{kCommits});
  EXPECT_EQ(Read(path_), (std::pair<int64_t, int64_t>{kCommits + 1, (kCommits + 1) * (kCommits + 2) / 2}));
}

TEST_F(WalWriteGatheringTest, ALargeTransactionIsWrittenInStepsAndReadsBackWhole) {
  // About 6 MiB of rows: frames spill from the page cache mid-transaction and go out in steps.
  ASSERT_OK(conn_->Exec("PRAGMA cache_size=-256", "small cache"));
  ASSERT_OK(conn_->Exec("BEGIN", "begin"));
  for (int i = 1; i <= 1500; ++i) ASSERT_OK(Insert(i, 4000));
  // Reads of spilled pages inside the transaction see what was written.
  EXPECT_EQ(CountInTransaction(), 1500);
  ASSERT_OK(conn_->Exec("UPDATE t SET v = v || 'x' WHERE id % 7 = 0", "update spilled rows"));
  ASSERT_OK(conn_->Exec("COMMIT", "commit"));
  EXPECT_EQ(Read(path_), (std::pair<int64_t, int64_t>{1500, 1500 * 1501 / 2}));
  EXPECT_EQ(testing::QueryInt(path_, "SELECT count(*) FROM t WHERE v LIKE '%x'"), 1500 / 7);
  const std::string copy = CrashCopy();
  EXPECT_EQ(Read(copy), (std::pair<int64_t, int64_t>{1500, 1500 * 1501 / 2}));
  EXPECT_EQ(IntegrityCheck(copy), "ok");
}

TEST_F(WalWriteGatheringTest, ACrashLeavesEveryCommittedTransaction) {
  for (int i = 1; i <= 200; ++i) ASSERT_OK(Insert(i, 300));
  // A transaction under way (not committed) when the process dies: none of it is recovered.
  ASSERT_OK(conn_->Exec("BEGIN", "begin"));
  ASSERT_OK(Insert(1000, 300));
  const std::string copy = CrashCopy();
  ASSERT_OK(conn_->Exec("ROLLBACK", "rollback"));
  EXPECT_EQ(Read(copy), (std::pair<int64_t, int64_t>{200, 200 * 201 / 2}));
  EXPECT_EQ(IntegrityCheck(copy), "ok");
}

TEST_F(WalWriteGatheringTest, AFailedWriteFailsTheCommitAndTheNextOneSucceeds) {
  for (int i = 1; i <= 10; ++i) ASSERT_OK(Insert(i, 300));
  for (fault_vfs::Kind kind : {fault_vfs::Kind::kWrite, fault_vfs::Kind::kDiskFull}) {
    SCOPED_TRACE(fault_vfs::KindName(kind));
    fault_vfs::Arm(kind, 1);
    Status s = Insert(100, 300);
    fault_vfs::Disarm();
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(Read(path_), (std::pair<int64_t, int64_t>{10, 55}));
  }
  // A transaction larger than one gathered write, its second step failing: nothing of it stays.
  ASSERT_OK(conn_->Exec("PRAGMA cache_size=-256", "small cache"));
  ASSERT_OK(conn_->Exec("BEGIN", "begin"));
  fault_vfs::Arm(fault_vfs::Kind::kWrite, 2);
  Status s;
  for (int i = 200; i < 400 && s.ok(); ++i) s = Insert(i, 4000);
  if (s.ok()) s = conn_->Exec("COMMIT", "commit");
  fault_vfs::Disarm();
  EXPECT_FALSE(s.ok());
  (void)conn_->Exec("ROLLBACK", "rollback");
  EXPECT_EQ(Read(path_), (std::pair<int64_t, int64_t>{10, 55}));
  // The connection goes on: its next commits land, and a crash then keeps them all.
  for (int i = 11; i <= 20; ++i) ASSERT_OK(Insert(i, 300));
  EXPECT_EQ(Read(path_), (std::pair<int64_t, int64_t>{20, 210}));
  const std::string copy = CrashCopy();
  EXPECT_EQ(Read(copy), (std::pair<int64_t, int64_t>{20, 210}));
  EXPECT_EQ(IntegrityCheck(copy), "ok");
}

TEST_F(WalWriteGatheringTest, ARolledBackSpillIsOverwrittenByTheNextTransaction) {
  ASSERT_OK(Insert(1, 100));
  ASSERT_OK(conn_->Exec("PRAGMA cache_size=-256", "small cache"));
  ASSERT_OK(conn_->Exec("BEGIN", "begin"));
  for (int i = 2; i <= 400; ++i) ASSERT_OK(Insert(i, 4000));
  ASSERT_OK(conn_->Exec("ROLLBACK", "rollback"));
  for (int i = 2; i <= 5; ++i) ASSERT_OK(Insert(i, 100));
  EXPECT_EQ(Read(path_), (std::pair<int64_t, int64_t>{5, 15}));
  const std::string copy = CrashCopy();
  EXPECT_EQ(Read(copy), (std::pair<int64_t, int64_t>{5, 15}));
  EXPECT_EQ(IntegrityCheck(copy), "ok");
}

}  // namespace
}  // namespace convstore
