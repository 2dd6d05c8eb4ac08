// Retention of the audit log (ops::PruneAudit): the oldest entries go in bounded batches, never the newest; the cut
// is recorded, so the kept chain verifies and continues, checkpoints of removed entries are checked against the
// cut, and a cut that no retention entry records (entries removed behind convstore's back) is named.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "convstore/convstore.hpp"
#include "ops/audit_log.h"
#include "sqlite/connection.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

// Prunes in the file's own write transaction on a connection of its own (as retention will, in batches).
ops::AuditPruneReport Prune(const std::string& path, int64_t before_at, int64_t max_entries) {
  auto conn = sqlite::Connection::Open(path, {});
  EXPECT_TRUE(conn.ok());
  EXPECT_TRUE((*conn)->Exec("BEGIN IMMEDIATE", "begin").ok());
  auto r = ops::PruneAudit(**conn, before_at, max_entries, "retention", before_at + 1'000'000'000);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*conn)->Exec("COMMIT", "commit").ok());
  return r.ok() ? *r : ops::AuditPruneReport{};
}

TEST(AuditPrune, OldEntriesGoInBatchesAndTheChainStillVerifies) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  auto keys = GenerateAuditKeyPair();
  ASSERT_OK(keys);
  std::vector<AuditEntry> written;
  for (int i = 0; i < 10; ++i) {
    auto e = store->LogEvent({.action = "step", .resource_id = std::to_string(i)});
    ASSERT_OK(e);
    written.push_back(*e);
  }
  auto early = store->CreateAuditCheckpoint(keys->private_key);  // of entry 10
  ASSERT_OK(early);
  const int64_t horizon = written[6].at;  // entries 1..6 are older

  auto first = Prune(db.path(), horizon, 4);
  EXPECT_EQ(first.removed, 4);
  EXPECT_EQ(first.through_seq, 4);
  auto second = Prune(db.path(), horizon, 4);
  EXPECT_EQ(second.removed, 2);
  EXPECT_EQ(second.through_seq, 6);
  EXPECT_EQ(Prune(db.path(), horizon, 4).removed, 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT min(seq) FROM audit_log"), 7);
  EXPECT_EQ(QueryInt(db.path(), "SELECT pruned_entries FROM audit_state"), 6);

  auto v = store->VerifyAudit();
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->first_seq, 7);
  EXPECT_EQ(v->last_seq, 12);  // the two audit.pruned entries
  auto page = store->ReadAudit({.action = "audit.pruned"});
  ASSERT_OK(page);
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[1].details_json,
            R"({"entries":2,"through_hash":")" + written[5].hash + R"(","through_seq":6})");
  // The chain continues, and a checkpoint made before the cut still checks.
  ASSERT_OK(store->LogEvent({.action = "after"}));
  auto checked = store->VerifyAuditCheckpoint(*early, keys->public_key);
  ASSERT_OK(checked);
  EXPECT_TRUE(checked->ok) << checked->problem;
}

TEST(AuditPrune, TheNewestEntryStaysAndEverythingElseCanGo) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  for (int i = 0; i < 3; ++i) ASSERT_OK(store->LogEvent({.action = "step"}));
  auto r = Prune(db.path(), INT64_MAX / 2, 100);
  EXPECT_EQ(r.removed, 2);
  EXPECT_EQ(Prune(db.path(), INT64_MAX / 2, 100).removed, 1);  // entry 3; the first audit.pruned entry is the newest
  auto v = store->VerifyAudit();
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries_checked, 2);  // the two audit.pruned entries
  auto next = store->LogEvent({.action = "next"});
  ASSERT_OK(next);
  EXPECT_EQ(next->seq, 6);
}

TEST(AuditPrune, ACutNoRetentionEntryRecordsIsNamed) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  for (int i = 0; i < 5; ++i) ASSERT_OK(store->LogEvent({.action = "step"}));
  // Entries 1-2 removed and the state moved to match, by a program that bypasses the triggers.
  sqlite3* raw = nullptr;
  sqlite3_open(db.path().c_str(), &raw);
  sqlite3_busy_timeout(raw, 5000);  // the store's background indexer may be writing
  sqlite3_db_config(raw, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  ASSERT_EQ(sqlite3_exec(raw,
                         "UPDATE audit_state SET pruned_through_seq = 2, pruned_through_hash = "
                         "(SELECT hash FROM audit_log WHERE seq = 2); DELETE FROM audit_log WHERE seq <= 2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto v = store->VerifyAudit();
  ASSERT_OK(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3);
  EXPECT_NE(v->problem.find("no retention entry"), std::string::npos) << v->problem;
}

}  // namespace
}  // namespace convstore
