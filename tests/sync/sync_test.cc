// The sync into PostgreSQL against a real PostgreSQL 15 (a throw-away cluster, pg_cluster.h): the initial load
// checked value by value, continuous changes checked against a fresh load of the same stores into another schema
// (every table, row by row, with EXCEPT ALL both ways), many stores in one database, reloads, dead letters,
// in-process sync across a PostgreSQL restart, and the errors a caller sees.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "convstore/convstore.hpp"
#include "pg_database_test.h"
#include "sync/table_map.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::PgCluster;
using testing::PgSession;
using testing::TempDb;

constexpr Micros kJan = 1767225600000000;  // 2026-01-01T00:00:00Z
constexpr Micros kDay = 86'400'000'000;

class SyncTest : public testing::PgDatabaseTest {
 protected:
  SyncTest() : PgDatabaseTest("sync") {}

  SyncOptions Options(const std::string& schema = "public") const {
    SyncOptions o;
    o.postgres_url = cluster_->ConnInfo(db_);
    o.schema = schema;
    return o;
  }

  static std::unique_ptr<ConversationStore> Open(const std::string& path) {
    auto s = ConversationStore::Open(path);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Loads `stores` afresh into a new schema and checks that every synced table of `schema` holds exactly the same
  // rows (generated columns included).
  void ExpectSameAsFreshLoad(const std::vector<ConversationStore*>& stores, const std::string& schema = "public") {
    static int n = 0;
    const std::string fresh = "fresh_" + std::to_string(++n);
    for (ConversationStore* s : stores) {
      auto r = s->SyncToPostgres(Options(fresh));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_TRUE(r->loaded);
    }
    for (const sync::TableMap& t : sync::SyncedTables()) {
      const std::string a = schema + "." + std::string(t.target), b = fresh + "." + std::string(t.target);
      const std::string cols = ComparedColumns(t.target);
      EXPECT_EQ(session_->Value("SELECT count(*) FROM (SELECT " + cols + " FROM " + a + " EXCEPT ALL SELECT " + cols +
                                " FROM " + b + ") x"),
                "0")
          << t.target << ": rows synced that a fresh load does not have";
      EXPECT_EQ(session_->Value("SELECT count(*) FROM (SELECT " + cols + " FROM " + b + " EXCEPT ALL SELECT " + cols +
                                " FROM " + a + ") x"),
                "0")
          << t.target << ": rows a fresh load has that the sync lacks";
    }
  }

  std::string Count(const std::string& table) { return session_->Value("SELECT count(*) FROM " + table); }

  // The columns compared between two loads: all, but the seed-shaped serial "id" PostgreSQL assigns.
  static std::string ComparedColumns(std::string_view table) {
    if (table == "audit_log")
      return "user_id, action, resource_type, resource_id, changes, ip_address, user_agent, created_at, store_id, "
             "src_id, actor, actor_user, subject_user, personal, convstore_nul";
    if (table == "metrics") return "metric_type, metric_name, value, unit, labels, recorded_at, store_id, src_id, convstore_nul";
    return "*";
  }

};

// A store with a bit of everything: returns the conversation's id.
std::string Populate(ConversationStore& s, const std::string& user = "ana@example.com") {
  EXPECT_TRUE(s.UpsertTeam({.key = "netops", .name = "Network ops", .monthly_budget_nanousd = 500'000'000'000}).ok());
  EXPECT_TRUE(s.UpsertUser({.key = user, .email = user, .name = "Ana", .team_key = "netops", .role = "admin"}).ok());
  auto c = s.CreateConversation({.user_key = user, .title = "BGP flaps", .metadata_json = R"({"source":"cli","team":"netops"})"});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(s.AddMessage(c->id, {.role = Role::kUser, .content = "why do sessions flap?", .created_at = kJan + 1}).ok());
  auto m = s.AddMessage(c->id, {.role = Role::kAssistant,
                                .content = "hold timers",
                                .model = "claude-sonnet-4-5",
                                .tokens_input = 1250,
                                .tokens_output = 890,
                                .cost_nanousd = 1'234'567'891,
                                .latency_us = 812'345,
                                .metadata_json = R"({"confidence":0.95,"tools":["parser"]})",
                                .request_id = "req-1",
                                .created_at = kJan + 2,
                                .tool_calls = {{.tool_name = "config_parser", .input_json = R"({"file":"r1.cfg"})",
                                                .call_id = "call_1"}}});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(s.AddMessage(c->id, {.role = Role::kTool, .content = "{\"ok\":true}", .created_at = kJan + 3,
                                   .tool_call_id = "call_1"})
                  .ok());
  EXPECT_TRUE(s.RecordApiUsage({.user_key = user, .model = "gpt-4o", .endpoint = "/v1/chat", .tokens_input = 10,
                                .tokens_output = 5, .cost_nanousd = 7, .recorded_at = kJan + 5})
                  .ok());
  EXPECT_TRUE(s.RecordApiUsage({.user_key = user, .model = "gpt-4o", .endpoint = "/v1/chat", .tokens_input = 3,
                                .cost_nanousd = 2'000'000'000'000, .recorded_at = kJan + 40 * kDay})
                  .ok());
  EXPECT_TRUE(s.SetBudget({.name = "netops-monthly", .scope = "team", .scope_key = "netops", .period = "month",
                           .hard_limit_nanousd = 900'000'000'000})
                  .ok());
  EXPECT_TRUE(s.Reserve({.request_id = "res-1", .user_key = user, .estimated_cost_nanousd = 5'000}).ok());
  EXPECT_TRUE(s.LogEvent({.action = "support.viewed", .resource_type = "conversation", .resource_id = c->id,
                          .subject_user_key = user, .details_json = R"({"ticket":42})",
                          .personal_json = R"({"reason":"asked by Ana"})"})
                  .ok());
  EXPECT_TRUE(s.RecordMetric({.type = "latency", .name = "api.ms", .value = 12.5, .unit = "ms",
                              .labels_json = R"({"model":"gpt-4o"})", .at = kJan + 7})
                  .ok());
  return c->id;
}

TEST_F(SyncTest, FirstSyncLoadsTheStoreExactly) {
  TempDb file;
  auto store = Open(file.path());
  const std::string conv = Populate(*store);
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->loaded);
  EXPECT_EQ(r->load_reason, "first sync");
  EXPECT_GT(r->rows_loaded, 8);
  EXPECT_EQ(r->dead_letters, 0);
  EXPECT_EQ(r->pending_entries, 0);
  EXPECT_EQ(r->lag_us, 0);
  EXPECT_FALSE(r->store_id.empty());

  EXPECT_EQ(Count("conversations"), "1");
  EXPECT_EQ(Count("messages"), "3");
  EXPECT_EQ(Count("tool_calls"), "1");
  EXPECT_EQ(Count("api_usage"), "2");
  EXPECT_EQ(Count("users"), "1");
  EXPECT_EQ(Count("teams"), "1");
  EXPECT_EQ(Count("convstore_budgets"), "1");
  EXPECT_EQ(Count("convstore_budget_reservations"), "1");
  // The seed's columns: the user's key, the conversation's UUID, exact money and microsecond times.
  EXPECT_EQ(session_->Value("SELECT user_id || '|' || title || '|' || (metadata->>'source') FROM conversations WHERE id = '" + conv + "'"),
            "ana@example.com|BGP flaps|cli");
  EXPECT_EQ(session_->Value("SELECT cost_usd::text || '|' || cost_nanousd || '|' || latency_ms || '|' || "
                            "(extract(epoch FROM created_at) * 1000000)::bigint || '|' || tokens_input || '|' || "
                            "conversation_id FROM messages WHERE role = 'assistant'"),
            "1.234567891|1234567891|812|" + std::to_string(kJan + 2) + "|1250|" + conv);
  EXPECT_EQ(session_->Value("SELECT count(*) FROM messages m JOIN tool_calls t ON t.message_id = m.id "
                            "WHERE t.tool_input->>'file' = 'r1.cfg' AND t.call_id = 'call_1'"),
            "1");
  EXPECT_EQ(session_->Value("SELECT role || '|' || tool_call_id FROM messages WHERE role = 'tool'"), "tool|call_1");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM users u JOIN teams t ON t.id = u.team_id WHERE t.key = 'netops'"), "1");
  EXPECT_EQ(session_->Value("SELECT monthly_budget_usd::text FROM teams"), "500.000000000");
  EXPECT_EQ(session_->Value("SELECT sum(cost_usd)::text FROM api_usage"), "2000.000000007");
  // api_usage lands in monthly partitions, created as the data arrives.
  EXPECT_EQ(session_->Value("SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i "
                            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'api_usage'::regclass"),
            "api_usage_2026_01,api_usage_2026_02");
  EXPECT_EQ(session_->Value("SELECT state || '|' || amount_nanousd FROM convstore_budget_reservations"), "open|5000");
  EXPECT_EQ(session_->Value("SELECT scope || '|' || period FROM convstore_budgets"), "team|month");
  // The store's position: the journal's last entry.
  EXPECT_EQ(session_->Value("SELECT position FROM convstore_stores"), std::to_string(r->position));
  EXPECT_EQ(session_->Value("SELECT loads FROM convstore_stores"), "1");

  // A second round has nothing to do.
  auto again = store->SyncToPostgres(Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->loaded);
  EXPECT_EQ(again->entries_applied, 0);
  EXPECT_EQ(again->position, r->position);
}

TEST_F(SyncTest, ConversationCountersAreTheStoresAtEverySyncedCommit) {
  TempDb file;
  auto store = Open(file.path());
  auto a = store->CreateConversation({.user_key = "u"});
  auto b = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(a.ok() && b.ok());
  auto expect_same = [&](const std::string& id) {
    auto info = store->GetConversationInfo(id);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(session_->Value("SELECT message_count || '|' || tokens_input || '|' || cost_nanousd || '|' ||"
                              " updated_at_us || '|' || (extract(epoch FROM updated_at) * 1000000)::bigint"
                              " FROM conversations WHERE id = '" + id + "'"),
              std::to_string(info->message_count) + "|" + std::to_string(info->tokens.input) + "|" +
                  std::to_string(info->cost_nanousd) + "|" + std::to_string(info->updated_at) + "|" +
                  std::to_string(info->updated_at));
  };
  // Pending messages (fewer than 32 since the last fold) at the initial load and through the journal, across
  // folds, batches, deletes and a conversation delete.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->AddMessage(a->id, {.content = "x", .tokens_input = 3, .cost_nanousd = 5}).ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  expect_same(a->id);
  expect_same(b->id);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 13; ++i) {
      ASSERT_TRUE(store->AddMessage(i % 3 ? a->id : b->id, {.content = "y", .tokens_input = i, .cost_nanousd = 7}).ok());
    }
    std::vector<NewMessage> batch(9, NewMessage{.content = "z", .tokens_input = 1, .cost_nanousd = 1});
    ASSERT_TRUE(store->AddMessages(b->id, batch).ok());
    if (round == 2) {
      ASSERT_TRUE(store->PopMessage(a->id).ok());
    }
    ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
    expect_same(a->id);
    expect_same(b->id);
  }
  ASSERT_TRUE(store->DeleteConversation(b->id).ok());
  ASSERT_TRUE(store->AddMessage(a->id, {.content = "last"}).ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  expect_same(a->id);
  EXPECT_EQ(Count("conversations"), "1");
}

TEST_F(SyncTest, NulBytesAreMappedReversibly) {
  TempDb file;
  auto store = Open(file.path());
  auto c = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(c.ok());
  const std::string content("a\0b", 3);
  ASSERT_TRUE(store->AddMessage(c->id, {.content = content, .metadata_json = R"({"k":"x\u0000y"})"}).ok());
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dead_letters, 0);
  EXPECT_EQ(session_->Value("SELECT content FROM messages"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(session_->Value("SELECT metadata->>'k' FROM messages"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(session_->Value("SELECT encode(decode(convstore_nul->>'content', 'base64'), 'hex') FROM messages"), "610062");
  EXPECT_EQ(session_->Value("SELECT convert_from(decode(convstore_nul->>'metadata', 'base64'), 'UTF8') FROM messages"),
            R"({"k":"x\u0000y"})");
  // The same through the journal, and an edit that removes the NUL clears the original.
  ASSERT_TRUE(store->AddMessage(c->id, {.content = std::string("\0", 1)}).ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  EXPECT_EQ(session_->Value("SELECT count(*) FROM messages WHERE convstore_nul ? 'content'"), "2");
  auto msgs = store->GetConversation(c->id);
  ASSERT_TRUE(msgs.ok());
  ASSERT_TRUE(store->EditMessage(msgs->messages[0].id, {.content = "clean"}).ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  EXPECT_EQ(session_->Value("SELECT count(*) FROM messages WHERE convstore_nul ? 'content'"), "1");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM messages WHERE convstore_nul ? 'metadata'"), "1");
  ExpectSameAsFreshLoad({store.get()});
}

TEST_F(SyncTest, InsertsUpdatesAndDeletesFollowAndMatchAFreshLoad) {
  TempDb file;
  auto store = Open(file.path());
  const std::string conv = Populate(*store);
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());

  // Every kind of write after the load.
  auto c2 = store->CreateConversation({.user_key = "bob", .title = "second"});
  ASSERT_TRUE(c2.ok());
  std::vector<NewMessage> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back({.role = i % 2 ? Role::kAssistant : Role::kUser, .content = "m" + std::to_string(i),
                     .model = "gpt-4o", .tokens_input = i, .tokens_output = 2 * i});
  auto added = store->AddMessages(c2->id, batch);
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(store->EditMessage((*added)[3].id, {.content = "edited", .metadata_json = R"({"edited":true})"}).ok());
  ASSERT_TRUE(store->DeleteMessage((*added)[4].id).ok());
  ASSERT_TRUE(store->UpdateConversation(conv, {.title = "BGP flaps (solved)", .metadata_json = R"({"source":"web"})"}).ok());
  ASSERT_TRUE(store->SetArchived(c2->id, true).ok());
  ASSERT_TRUE(store->UpsertTeam({.key = "sre"}).ok());
  ASSERT_TRUE(store->UpsertUser({.key = "ana@example.com", .team_key = "sre", .active = false}).ok());
  ASSERT_TRUE(store->Settle("res-1", {.user_key = "ana@example.com", .model = "gpt-4o", .cost_nanousd = 4'000}).ok());
  auto c3 = store->CreateConversation({.user_key = "bob", .title = "to delete"});
  ASSERT_TRUE(c3.ok());
  ASSERT_TRUE(store->AddMessage(c3->id, {.content = "bye", .tool_calls = {{.tool_name = "t"}}}).ok());
  ASSERT_TRUE(store->RecordApiUsage({.user_key = "bob", .conversation_id = c3->id, .model = "m", .cost_nanousd = 3}).ok());
  ASSERT_TRUE(store->DeleteConversation(c3->id).ok());
  ASSERT_TRUE(store->ClearMessages(conv).ok());

  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->loaded);
  EXPECT_GT(r->entries_applied, 10);
  EXPECT_EQ(r->dead_letters, 0);
  EXPECT_EQ(r->pending_entries, 0);
  EXPECT_EQ(session_->Value("SELECT title FROM conversations WHERE id = '" + conv + "'"), "BGP flaps (solved)");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM messages WHERE conversation_id = '" + conv + "'"), "0");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM conversations WHERE id = '" + c3->id + "'"), "0");
  EXPECT_EQ(session_->Value("SELECT is_active::text FROM users WHERE key = 'ana@example.com'"), "false");
  EXPECT_EQ(session_->Value("SELECT state FROM convstore_budget_reservations"), "settled");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM api_usage WHERE conversation_id IS NULL AND conversation_src IS NULL "
                            "AND cost_nanousd = 3"),
            "1");
  ExpectSameAsFreshLoad({store.get()});
}

// An erasure (its entry withholds what it removed) and a retention run reach PostgreSQL as the deletes and updates
// they are: the person's rows are gone there, their user row is stripped, and PostgreSQL equals a fresh load.
TEST_F(SyncTest, AnErasureAndRetentionPropagate) {
  TempDb file;
  auto store = Open(file.path());
  Populate(*store);
  auto bo = store->CreateConversation({.user_key = "bo@example.com", .title = "kept"});
  ASSERT_TRUE(bo.ok());
  ASSERT_TRUE(store->AddMessage(bo->id, {.content = "stays", .cost_nanousd = 5}).ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  EXPECT_EQ(Count("conversations"), "2");
  // The audit entry about Ana and the metric point are there, her personal details with them.
  EXPECT_EQ(session_->Value("SELECT count(*) FROM audit_log WHERE action = 'support.viewed' AND "
                            "personal->>'reason' = 'asked by Ana' AND subject_user IS NOT NULL"),
            "1");
  EXPECT_EQ(session_->Value("SELECT value::text || ' ' || unit || ' ' || (labels->>'model') FROM metrics"),
            "12.5 ms gpt-4o");

  auto erased = store->EraseUser("ana@example.com");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  auto retained = store->ApplyRetention({.policy = RetentionPolicy{.api_usage_us = 1'000'000, .metrics_us = 1'000'000}});
  ASSERT_TRUE(retained.ok()) << retained.status().ToString();
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->loaded) << "an erasure is applied as changes, not by reloading the store";
  EXPECT_EQ(r->dead_letters, 0);
  EXPECT_EQ(session_->Value("SELECT count(*) FROM users WHERE key = 'ana@example.com' OR email = 'ana@example.com'"),
            "0");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM users WHERE key = '" + erased->user_key + "'"), "1");
  EXPECT_EQ(Count("conversations"), "1");  // bo's: each Populate made one
  EXPECT_EQ(Count("api_usage"), "0");
  EXPECT_EQ(Count("metrics"), "0");  // retention's deletes propagate
  EXPECT_NE(session_->Value("SELECT count(*) FROM messages"), "0");  // bo's stay
  // The audit entries stay, stripped of what named her; the erasure's own entry is there.
  EXPECT_EQ(session_->Value("SELECT count(*) FROM audit_log WHERE personal IS NOT NULL OR ip_address IS NOT NULL"), "0");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM audit_log WHERE action = 'support.viewed'"), "1");
  EXPECT_EQ(session_->Value("SELECT count(*) FROM audit_log WHERE action = 'user.erased'"), "1");
  ExpectSameAsFreshLoad({store.get()});
}

TEST_F(SyncTest, ManyStoresShareOneDatabase) {
  TempDb a, b, c;
  auto sa = Open(a.path()), sb = Open(b.path()), sc = Open(c.path());
  Populate(*sa, "ana@example.com");
  Populate(*sb, "ana@example.com");  // the same keys on another host
  Populate(*sc, "carl@example.com");
  for (auto* s : {sa.get(), sb.get(), sc.get()}) ASSERT_TRUE(s->SyncToPostgres(Options()).ok());
  for (auto* s : {sa.get(), sb.get(), sc.get()}) {
    auto conv = s->CreateConversation({.user_key = "late"});
    ASSERT_TRUE(conv.ok());
    ASSERT_TRUE(s->AddMessage(conv->id, {.content = "x", .model = "m", .cost_nanousd = 100}).ok());
    ASSERT_TRUE(s->SyncToPostgres(Options()).ok());
  }
  EXPECT_EQ(Count("convstore_stores"), "3");
  EXPECT_EQ(Count("teams"), "3");
  EXPECT_EQ(session_->Value("SELECT count(DISTINCT id) FROM users"), std::to_string(3 * 2));
  // Spend per team across every host: plain SQL over the union.
  EXPECT_EQ(session_->Value("SELECT sum(m.cost_nanousd) FROM messages m JOIN teams t ON t.id = m.team_id "
                            "WHERE t.key = 'netops'"),
            std::to_string(3 * 1'234'567'891LL));
  ExpectSameAsFreshLoad({sa.get(), sb.get(), sc.get()});
}

TEST_F(SyncTest, ABreakInTheJournalReloadsTheStore) {
  TempDb file;
  auto store = Open(file.path());
  auto conv = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  ASSERT_TRUE(store->SetJournalEnabled(false).ok());
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "unjournaled"}).ok());
  EXPECT_CODE(store->SyncToPostgres(Options()), Code::kConflict);  // the journal is off
  ASSERT_TRUE(store->SetJournalEnabled(true).ok());
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "journaled"}).ok());
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->loaded);
  EXPECT_NE(r->load_reason.find("journal switched off"), std::string::npos) << r->load_reason;
  EXPECT_EQ(Count("messages"), "2");
  EXPECT_EQ(session_->Value("SELECT loads FROM convstore_stores"), "2");
  ExpectSameAsFreshLoad({store.get()});
}

TEST_F(SyncTest, RowsPostgresRefusesGoToDeadLetters) {
  TempDb file;
  auto store = Open(file.path());
  auto conv = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  ASSERT_EQ(session_->Exec("ALTER TABLE messages ADD CONSTRAINT no_secrets CHECK (content <> 'refuse me')"), "");
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "before"}).ok());
  auto refused = store->AddMessage(conv->id, {.content = "refuse me", .tool_calls = {{.tool_name = "t"}}});
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "after"}).ok());
  ASSERT_TRUE(store->EditMessage(refused->id, {.metadata_json = R"({"x":1})"}).ok());
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dead_letters, 3);  // the message, its tool call (no message to hang on), the edit (no row)
  EXPECT_EQ(r->pending_entries, 0);
  EXPECT_EQ(session_->Value("SELECT string_agg(content, ',' ORDER BY position) FROM messages"), "before,after");
  EXPECT_EQ(session_->Value("SELECT string_agg(source_table || ':' || op || ':' || sqlstate, ',' ORDER BY id) "
                            "FROM convstore_dead_letters"),
            "messages:insert:23514,tool_calls:insert:23502,messages:update:");
  EXPECT_NE(session_->Value("SELECT reason FROM convstore_dead_letters ORDER BY id LIMIT 1").find("no_secrets"),
            std::string::npos);
  EXPECT_NE(session_->Value("SELECT change FROM convstore_dead_letters ORDER BY id LIMIT 1").find("refuse me"),
            std::string::npos);
}

TEST_F(SyncTest, InProcessSyncSurvivesAPostgresRestart) {
  TempDb file;
  auto store = Open(file.path());
  auto conv = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(conv.ok());
  SyncOptions o = Options();
  o.interval_us = 20'000;
  ASSERT_TRUE(store->StartSync(o).ok());
  EXPECT_CODE(store->StartSync(o), Code::kConflict);
  auto wait_for = [&](const std::string& count) {
    for (int i = 0; i < 500; ++i) {
      PgSession s(cluster_->ConnInfo(db_));
      if (s.ok() && s.TryValue("SELECT count(*) FROM messages") == count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "one"}).ok());
  EXPECT_TRUE(wait_for("1"));
  // Another sync of the same store into the same database is refused while this one runs.
  EXPECT_CODE(store->SyncToPostgres(o), Code::kBusy);

  session_.reset();
  ASSERT_TRUE(cluster_->Stop()) << cluster_->error();
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "two"}).ok());
  for (int i = 0; i < 200; ++i) {
    auto st = store->GetSyncStatus();
    ASSERT_TRUE(st.ok());
    if (st->consecutive_failures > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto down = store->GetSyncStatus();
  ASSERT_TRUE(down.ok());
  EXPECT_TRUE(down->running);
  EXPECT_GT(down->failed_rounds, 0);
  EXPECT_NE(down->last_error.find("unavailable"), std::string::npos) << down->last_error;
  ASSERT_TRUE(cluster_->Start()) << cluster_->error();
  EXPECT_TRUE(wait_for("2"));
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "three"}).ok());
  auto totals = store->StopSync();
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->pending_entries, 0);
  auto journal = store->GetJournalStatus();
  ASSERT_TRUE(journal.ok());
  EXPECT_EQ(totals->position, journal->last_seq);
  EXPECT_CODE(store->StopSync(), Code::kNotFound);
  session_ = std::make_unique<PgSession>(cluster_->ConnInfo(db_));
  EXPECT_EQ(Count("messages"), "3");
  ExpectSameAsFreshLoad({store.get()});
}

TEST_F(SyncTest, WritesByAnotherProgramAfterAReloadStillArrive) {
  TempDb file;
  auto store = Open(file.path());
  auto conv = store->CreateConversation({.user_key = "u", .title = "t0"});
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  testing::ExecOnFile(file.path(), "UPDATE conversations SET title = 't1'");  // leaves a foreign-write marker
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->loaded);
  EXPECT_NE(r->load_reason.find("another program"), std::string::npos) << r->load_reason;
  EXPECT_EQ(session_->Value("SELECT title FROM conversations"), "t1");
  // The same program writes again: it must not pass unseen behind the marker the load already passed.
  testing::ExecOnFile(file.path(), "UPDATE conversations SET title = 't2'");
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "after"}).ok());
  r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(session_->Value("SELECT title FROM conversations"), "t2");
  EXPECT_EQ(Count("messages"), "1");
  ExpectSameAsFreshLoad({store.get()});
}

TEST_F(SyncTest, JournalRetentionKeepsWhatTheSyncNeeds) {
  TempDb file;
  auto store = Open(file.path());
  auto conv = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "one"}).ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "two"}).ok());
  JournalRetention retention;
  retention.max_age_us = 1;  // everything is old
  ASSERT_TRUE(store->SetJournalRetention(retention).ok());
  ASSERT_TRUE(store->PruneJournal().ok());
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->loaded) << r->load_reason;  // the entries after PostgreSQL's position, and that one, were kept
  EXPECT_EQ(r->entries_applied, 3);  // the message, then the audit entries of the retention setting and the pruning
  EXPECT_EQ(Count("messages"), "2");
}

TEST_F(SyncTest, OneRoundAppliesEverythingCommittedBeforeIt) {
  TempDb file;
  auto store = Open(file.path());
  auto conv = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(store->AddMessage(conv->id, {.content = std::to_string(i)}).ok());
  SyncOptions o = Options();
  o.batch_entries = 2;  // 150 batches: more than a background round's 64
  auto r = store->SyncToPostgres(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries_applied, 300);
  EXPECT_EQ(r->pending_entries, 0);
  EXPECT_EQ(Count("messages"), "300");
}

TEST_F(SyncTest, ARowThatIsNotUtf8BecomesADeadLetter) {
  TempDb file;
  auto store = Open(file.path());
  auto conv = store->CreateConversation({.user_key = "u"});
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "fine"}).ok());
  // Bytes that are not UTF-8, written by another program: PostgreSQL refuses the row, the rest loads.
  testing::ExecOnFile(file.path(), "UPDATE messages SET content = CAST(x'c328' AS TEXT)");
  ASSERT_TRUE(store->AddMessage(conv->id, {.content = "also fine"}).ok());
  auto r = store->SyncToPostgres(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dead_letters, 1);
  EXPECT_EQ(session_->Value("SELECT string_agg(content, ',') FROM messages"), "also fine");
  EXPECT_EQ(session_->Value("SELECT sqlstate FROM convstore_dead_letters"), "22021");
  EXPECT_NE(session_->Value("SELECT change FROM convstore_dead_letters").find("x'c328'"), std::string::npos);
}

TEST_F(SyncTest, ErrorsAreClear) {
  TempDb file;
  auto store = Open(file.path());
  ASSERT_TRUE(store->CreateConversation({.user_key = "u"}).ok());
  auto with_url = [&](const std::string& url) {
    SyncOptions o = Options();
    o.postgres_url = url;
    return store->SyncToPostgres(o);
  };
  auto bad = with_url("postgresql://%zz@/x");
  EXPECT_CODE(bad, Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("connection string"), std::string::npos) << bad.status().ToString();
  EXPECT_CODE(with_url("host=/nonexistent-dir port=1 dbname=x connect_timeout=2"), Code::kUnavailable);
  auto login = with_url(cluster_->ConnInfo(db_) + " user=nobody");
  EXPECT_CODE(login, Code::kInvalidArgument);
  EXPECT_NE(login.status().message().find("refused the login"), std::string::npos) << login.status().ToString();
  EXPECT_CODE(with_url(cluster_->ConnInfo("no_such_db")), Code::kInvalidArgument);
  EXPECT_CODE(with_url(""), Code::kInvalidArgument);
  EXPECT_EQ(with_url("host=/x password=hunter2 port=1 connect_timeout=1").status().message().find("hunter2"),
            std::string::npos);

  SyncOptions o = Options();
  o.schema = "";
  EXPECT_CODE(store->SyncToPostgres(o), Code::kInvalidArgument);
  o = Options();
  o.interval_us = 0;
  EXPECT_CODE(store->StartSync(o), Code::kInvalidArgument);
  o = Options();
  o.batch_entries = 0;
  EXPECT_CODE(store->SyncToPostgres(o), Code::kInvalidArgument);
  o = Options();
  o.label = std::string("a\0b", 3);
  EXPECT_CODE(store->SyncToPostgres(o), Code::kInvalidArgument);

  // A schema holding someone else's tables of the same names.
  ASSERT_EQ(session_->Exec("CREATE SCHEMA theirs; CREATE TABLE theirs.conversations (id int)"), "");
  auto theirs = store->SyncToPostgres(Options("theirs"));
  EXPECT_CODE(theirs, Code::kConflict);
  EXPECT_NE(theirs.status().message().find("conversations"), std::string::npos) << theirs.status().ToString();
  EXPECT_EQ(session_->Value("SELECT count(*) FROM pg_tables WHERE schemaname = 'theirs'"), "1");  // untouched
  // Tables from a newer convstore.
  ASSERT_TRUE(store->SyncToPostgres(Options()).ok());
  ASSERT_EQ(session_->Exec("INSERT INTO convstore_schema (version, library_version) VALUES (99, 'future')"), "");
  EXPECT_CODE(store->SyncToPostgres(Options()), Code::kSchemaTooNew);

  auto memory = ConversationStore::Open(ConversationStore::kInMemory);
  ASSERT_TRUE(memory.ok());
  EXPECT_CODE((*memory)->SyncToPostgres(Options()), Code::kInvalidArgument);
}

}  // namespace
}  // namespace convstore
