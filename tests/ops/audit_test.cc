// The audit log: entries convstore writes itself in the transaction of the change, application entries,
// pseudonymous ids, the hash chain and what VerifyAudit names when the file is edited, the append-only triggers,
// and signed checkpoints against a cut-off tail and a rewritten chain.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

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
  // The error message, or "" when the statement ran.
  std::string Exec(const std::string& sql) {
    char* err = nullptr;
    std::string out;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) out = err ? err : "error";
    sqlite3_free(err);
    return out;
  }
};

std::vector<AuditEntry> All(ConversationStore& store, AuditQuery q = {}) {
  q.limit = 10000;
  auto page = store.ReadAudit(q);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? page->entries : std::vector<AuditEntry>{};
}

std::vector<std::string> Actions(const std::vector<AuditEntry>& entries) {
  std::vector<std::string> out;
  for (const AuditEntry& e : entries) out.push_back(e.action);
  return out;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(db_.path());
    ASSERT_OK(store_->UpsertTeam({.key = "netops"}));
    ASSERT_OK(store_->UpsertUser({.key = "ana@example.com", .email = "ana@example.com", .team_key = "netops"}));
    auto c = store_->CreateConversation({.user_key = "ana@example.com", .title = "BGP flaps"});
    ASSERT_OK(c);
    conversation_ = c->id;
  }

  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
  std::string conversation_;
};

TEST_F(AuditTest, DestructiveOperationsAreAuditedInTheirTransaction) {
  auto m1 = store_->AddMessage(conversation_, {.role = Role::kUser, .content = "first"});
  auto m2 = store_->AddMessage(conversation_, {.role = Role::kAssistant, .content = "second"});
  ASSERT_OK(m1);
  ASSERT_OK(m2);
  EXPECT_TRUE(All(*store_).empty()) << "writes that destroy nothing are not audited";

  ASSERT_OK(store_->EditMessage(m1->id, {.content = "first, corrected"}));
  ASSERT_OK(store_->DeleteMessage(m2->id));
  ASSERT_OK(store_->SetBudget({.name = "ana-daily", .scope = "user", .scope_key = "ana@example.com", .period = "day",
                               .hard_limit_nanousd = 5'000'000'000}));
  ASSERT_OK(store_->DeleteBudget("ana-daily"));
  ASSERT_OK(store_->AddPrice({.model = "house-model", .effective_from = 1'700'000'000'000'000,
                              .input_per_mtok = 1'000'000'000, .output_per_mtok = 2'000'000'000}));
  ASSERT_OK(store_->SetMetadataExcludedPaths({"trace"}));
  ASSERT_OK(store_->SetJournalRetention({.max_age_us = 86'400'000'000}));
  ASSERT_OK(store_->DeleteConversation(conversation_));

  auto entries = All(*store_);
  EXPECT_EQ(Actions(entries),
            (std::vector<std::string>{"message.edited", "message.deleted", "budget.set", "budget.deleted",
                                      "price.added", "metadata.exclusions_set", "journal.retention_set",
                                      "conversation.deleted"}));
  // People appear by one pseudonymous id, never by their key.
  std::set<std::string> subjects;
  for (const AuditEntry& e : entries) {
    if (!e.subject_user.empty()) subjects.insert(e.subject_user);
    EXPECT_EQ(e.details_json.find("ana@example.com"), std::string::npos) << e.action << ": " << e.details_json;
    EXPECT_EQ(e.actor, "application");
  }
  ASSERT_EQ(subjects.size(), 1u);
  EXPECT_EQ(subjects.begin()->size(), 32u);
  EXPECT_EQ(entries[0].resource_id, m1->id);
  EXPECT_EQ(entries[0].details_json, R"({"conversation":")" + conversation_ + R"(","fields":["content"]})");
  EXPECT_EQ(entries[7].details_json, R"({"messages":1,"cost_nanousd":0})");
  // A user budget's name (which may name the person) is an erasable personal detail, not the resource id.
  EXPECT_EQ(entries[2].resource_id, "");
  EXPECT_EQ(entries[2].personal_json, R"({"name":"ana-daily"})");
  // A user's entries are found by key too.
  EXPECT_EQ(All(*store_, {.user_key = "ana@example.com"}).size(), 5u);
  EXPECT_TRUE(All(*store_, {.user_key = "nobody@example.com"}).empty());
  auto v = store_->VerifyAudit();
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries_checked, 8);
  EXPECT_EQ(v->last_seq, 8);
  EXPECT_EQ(v->head_hash, entries.back().hash);
}

TEST_F(AuditTest, AFailedOperationLeavesNoEntry) {
  EXPECT_CODE(store_->DeleteConversation("0190aaaa-0000-7000-8000-000000000000"), Code::kNotFound);
  EXPECT_CODE(store_->DeleteBudget("none"), Code::kNotFound);
  EXPECT_TRUE(All(*store_).empty());
}

TEST_F(AuditTest, ApplicationEntriesAndTheContext) {
  ASSERT_OK(store_->UpsertUser({.key = "ops@example.com"}));
  ASSERT_OK(store_->SetAuditContext({.actor = "support-console", .actor_user_key = "ops@example.com",
                                     .ip_address = "2001:db8::7", .user_agent = "console/2.1"}));
  auto e = store_->LogEvent({.action = "report.exported", .resource_type = "report", .resource_id = "r-17",
                             .subject_user_key = "ana@example.com", .details_json = R"({"rows": 12, "format":"csv"})",
                             .personal_json = R"({"reason":"Ana asked by phone"})"});
  ASSERT_OK(e);
  EXPECT_EQ(e->seq, 1);
  EXPECT_EQ(e->actor, "support-console");
  EXPECT_EQ(e->actor_user.size(), 32u);
  EXPECT_EQ(e->subject_user.size(), 32u);
  EXPECT_NE(e->actor_user, e->subject_user);
  EXPECT_EQ(e->details_json, R"({"format":"csv","rows":12})");
  EXPECT_EQ(e->ip_address, "2001:db8::7");
  EXPECT_EQ(e->user_agent, "console/2.1");
  EXPECT_EQ(e->personal_json, R"({"reason":"Ana asked by phone"})");
  EXPECT_EQ(e->prev_hash, std::string(64, '0'));

  // The context applies to what convstore writes itself too, on this thread only.
  ASSERT_OK(store_->SetArchived(conversation_, true));
  std::thread other([&] { ASSERT_OK(store_->DeleteConversation(conversation_)); });
  other.join();
  auto entries = All(*store_);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].actor, "application");
  EXPECT_EQ(entries[1].ip_address, "");
  EXPECT_EQ(entries[1].prev_hash, entries[0].hash);
  // Filters.
  EXPECT_EQ(All(*store_, {.action = "report.exported"}).size(), 1u);
  EXPECT_EQ(All(*store_, {.resource_type = "conversation", .resource_id = conversation_}).size(), 1u);
  EXPECT_EQ(All(*store_, {.actor = "support-console"}).size(), 1u);
  EXPECT_EQ(All(*store_, {.pseudonym = e->actor_user}).size(), 1u);
  EXPECT_EQ(All(*store_, {.user_key = "ana@example.com"}).size(), 2u);
  EXPECT_EQ(All(*store_, {.after_seq = 1}).size(), 1u);
  EXPECT_EQ(All(*store_, {.since = entries[1].at}).back().seq, 2);
  EXPECT_TRUE(All(*store_, {.until = entries[0].at}).empty());
  auto page = store_->ReadAudit({.limit = 1});
  ASSERT_OK(page);
  EXPECT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->next_after_seq, 1);
  // Clearing the context.
  ASSERT_OK(store_->SetAuditContext({}));
  auto plain = store_->LogEvent({.action = "x"});
  ASSERT_OK(plain);
  EXPECT_EQ(plain->actor, "application");
  EXPECT_EQ(plain->actor_user, "");
}

TEST_F(AuditTest, BadInputIsRefusedAndWritesNothing) {
  EXPECT_CODE(store_->LogEvent({}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = "has space"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = std::string(129, 'a')}), Code::kTooLarge);
  EXPECT_CODE(store_->LogEvent({.action = "a", .resource_type = "bad\"type"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = "a", .details_json = "[1]"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = "a", .details_json = "{"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = "a", .personal_json = "\"x\""}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = "a", .ip_address = "10.0.0.300"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = "a", .subject_user_key = "nobody"}), Code::kNotFound);
  EXPECT_CODE(store_->LogEvent({.action = "a", .actor_user_key = "nobody"}), Code::kNotFound);
  EXPECT_CODE(store_->LogEvent({.action = "a", .resource_id = std::string("a\0b", 3)}), Code::kInvalidArgument);
  EXPECT_CODE(store_->LogEvent({.action = "a", .user_agent = "\xff"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SetAuditContext({.actor_user_key = "nobody"}), Code::kNotFound);
  EXPECT_CODE(store_->SetAuditContext({.ip_address = "localhost"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->ReadAudit({.limit = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store_->ReadAudit({.pseudonym = "xyz"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->ReadAudit({.since = 5}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateAuditCheckpoint("00"), Code::kInvalidArgument);
  EXPECT_TRUE(All(*store_).empty());
  EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM user_pseudonyms"), 0);
  EXPECT_CODE(store_->CreateAuditCheckpoint(std::string(64, '1')), Code::kNotFound);  // nothing to sign yet
}

TEST_F(AuditTest, OtherProgramsCannotUpdateOrDeleteEntries) {
  ASSERT_OK(store_->LogEvent({.action = "a"}));
  Raw raw(db_.path());
  EXPECT_NE(raw.Exec("UPDATE audit_log SET action = 'b'").find("append-only"), std::string::npos);
  EXPECT_NE(raw.Exec("DELETE FROM audit_log").find("append-only"), std::string::npos);
  EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM audit_log WHERE action = 'a'"), 1);
}

// Edits with triggers off (a program that bypasses them): VerifyAudit names the first entry that does not verify.
TEST_F(AuditTest, VerifyNamesTheFirstDamagedEntry) {
  for (int i = 0; i < 5; ++i)
    ASSERT_OK(store_->LogEvent({.action = "step", .resource_id = std::to_string(i), .ip_address = "192.0.2.1"}));
  auto edit = [&](const std::string& sql) {
    Raw raw(db_.path());
    sqlite3_db_config(raw.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    EXPECT_EQ(raw.Exec("BEGIN; " + sql + "; COMMIT"), "");
  };
  auto verify = [&] {
    auto v = store_->VerifyAudit();
    EXPECT_TRUE(v.ok());
    return v.ok() ? *v : AuditVerification{};
  };
  ASSERT_TRUE(verify().ok);

  edit("UPDATE audit_log SET resource_id = 'x' WHERE seq = 3");
  auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3);
  EXPECT_NE(v.problem.find("changed"), std::string::npos) << v.problem;
  edit("UPDATE audit_log SET resource_id = '2' WHERE seq = 3");
  ASSERT_TRUE(verify().ok);

  edit("UPDATE audit_log SET ip_address = '192.0.2.2' WHERE seq = 2");
  v = verify();
  EXPECT_EQ(v.first_bad_seq, 2);
  EXPECT_NE(v.problem.find("IP address"), std::string::npos) << v.problem;
  edit("UPDATE audit_log SET ip_address = '192.0.2.1' WHERE seq = 2");

  edit("DELETE FROM audit_log WHERE seq = 4");
  v = verify();
  EXPECT_EQ(v.first_bad_seq, 5);
  EXPECT_NE(v.problem.find("missing"), std::string::npos) << v.problem;
}

TEST_F(AuditTest, ErasedPersonalFieldsStillVerify) {
  ASSERT_OK(store_->LogEvent({.action = "login", .ip_address = "198.51.100.4", .user_agent = "curl/8"}));
  ASSERT_OK(store_->LogEvent({.action = "logout"}));
  {
    // What an erase does to an entry: the personal fields and their salt go, their hash stays.
    Raw raw(db_.path());
    sqlite3_db_config(raw.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    ASSERT_EQ(raw.Exec("UPDATE audit_log SET ip_address = NULL, user_agent = NULL, personal_salt = NULL WHERE seq = 1"),
              "");
  }
  auto v = store_->VerifyAudit();
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->personal_erased, 1);
  auto entries = All(*store_);
  EXPECT_TRUE(entries[0].personal_erased);
  EXPECT_EQ(entries[0].ip_address, "");
}

TEST_F(AuditTest, CheckpointsDetectACutTailAndARewrittenChain) {
  auto keys = GenerateAuditKeyPair();
  ASSERT_OK(keys);
  EXPECT_EQ(*AuditPublicKey(keys->private_key), keys->public_key);
  for (int i = 0; i < 4; ++i) ASSERT_OK(store_->LogEvent({.action = "step", .resource_id = std::to_string(i)}));
  auto checkpoint = store_->CreateAuditCheckpoint(keys->private_key);
  ASSERT_OK(checkpoint);
  EXPECT_EQ(checkpoint->seq, 4);
  EXPECT_EQ(checkpoint->public_key, keys->public_key);
  // It survives a trip through its JSON form.
  const std::string json = AuditCheckpointToJson(*checkpoint);
  auto parsed = ParseAuditCheckpoint(json);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->signature, checkpoint->signature);
  EXPECT_CODE(ParseAuditCheckpoint("{}"), Code::kInvalidArgument);
  EXPECT_CODE(ParseAuditCheckpoint("[]"), Code::kInvalidArgument);

  ASSERT_OK(store_->LogEvent({.action = "after"}));
  auto ok = store_->VerifyAuditCheckpoint(*parsed, keys->public_key);
  ASSERT_OK(ok);
  EXPECT_TRUE(ok->ok) << ok->problem;

  // Another key, a forged field: the signature does not verify.
  auto other = GenerateAuditKeyPair();
  ASSERT_OK(other);
  auto wrong_key = store_->VerifyAuditCheckpoint(*parsed, other->public_key);
  ASSERT_OK(wrong_key);
  EXPECT_FALSE(wrong_key->ok);
  AuditCheckpoint forged = *parsed;
  forged.seq = 5;
  auto forged_check = store_->VerifyAuditCheckpoint(forged, keys->public_key);
  ASSERT_OK(forged_check);
  EXPECT_FALSE(forged_check->ok);
  EXPECT_NE(forged_check->problem.find("signature"), std::string::npos) << forged_check->problem;

  // The tail cut off (the chain alone still verifies: the entries left are intact).
  {
    Raw raw(db_.path());
    sqlite3_db_config(raw.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    ASSERT_EQ(raw.Exec("DELETE FROM audit_log WHERE seq >= 4"), "");
  }
  auto chain = store_->VerifyAudit();
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok);
  auto cut = store_->VerifyAuditCheckpoint(*parsed, keys->public_key);
  ASSERT_OK(cut);
  EXPECT_FALSE(cut->ok);
  EXPECT_NE(cut->problem.find("cut off"), std::string::npos) << cut->problem;

  // The whole chain rewritten consistently from the start (what someone with the file and the documented
  // encoding could do): the chain verifies, the checkpoint does not.
  TempDb other_db;
  {
    auto rewritten = OpenOrDie(other_db.path());
    for (int i = 0; i < 6; ++i) ASSERT_OK(rewritten->LogEvent({.action = "forged"}));
  }
  {
    Raw raw(db_.path());
    sqlite3_db_config(raw.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    ASSERT_EQ(raw.Exec("ATTACH '" + other_db.path() + "' AS o; DELETE FROM audit_log;"
                       " INSERT INTO audit_log SELECT * FROM o.audit_log;"),
              "");
  }
  chain = store_->VerifyAudit();
  ASSERT_OK(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  auto rewritten = store_->VerifyAuditCheckpoint(*parsed, keys->public_key);
  ASSERT_OK(rewritten);
  EXPECT_FALSE(rewritten->ok);
  EXPECT_NE(rewritten->problem.find("rewritten"), std::string::npos) << rewritten->problem;

  EXPECT_CODE(store_->VerifyAuditCheckpoint(*parsed, "zz"), Code::kInvalidArgument);
  AuditCheckpoint malformed = *parsed;
  malformed.hash = "00";
  EXPECT_CODE(store_->VerifyAuditCheckpoint(malformed, keys->public_key), Code::kInvalidArgument);
}

TEST_F(AuditTest, RestoresAreAudited) {
  ASSERT_OK(store_->LogEvent({.action = "before-backup"}));
  testing::TempDir dir;
  ASSERT_OK(store_->Backup({.path = dir / "b.db"}));
  ASSERT_OK(RestoreBackup(dir / "b.db", dir / "restored.db"));
  auto restored = OpenOrDie(dir / "restored.db");
  auto entries = All(*restored);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].action, "store.restored");
  EXPECT_EQ(entries[1].actor, "restore");
  EXPECT_NE(entries[1].details_json.find(R"("from":"backup")"), std::string::npos) << entries[1].details_json;
  auto v = restored->VerifyAudit();
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok) << v->problem;
}

TEST_F(AuditTest, EntriesFromManyThreadsFormOneChain) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        ASSERT_OK(store_->LogEvent({.action = "tick", .resource_id = std::to_string(t * 100 + i)}));
    });
  for (auto& t : threads) t.join();
  auto v = store_->VerifyAudit();
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries_checked, 200);
  auto entries = All(*store_);
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_LE(entries[i - 1].at, entries[i].at);
}

}  // namespace
}  // namespace convstore
