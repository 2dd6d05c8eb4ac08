// Files that lie: cells, schema objects and derived tables edited by someone with write access (or damaged by a
// bad disk). What convstore reads back is checked — a stored value it would not have written is kCorruption naming
// the record, never passed on — and a file whose schema is not what convstore's migrations create is refused.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::ExecOnFile;
using testing::QueryInt;
using testing::TempDb;

template <typename R>
void ExpectCorruption(const R& r, const std::string& names) {
  EXPECT_CODE(r, Code::kCorruption);
  EXPECT_NE(testing::Describe(r).find(names), std::string::npos) << testing::Describe(r);
}

TEST(StoredValueTest, ACellConvstoreWouldNotWriteIsCorruptionNeverOutput) {
  TempDb db;
  auto s = OpenOrDie(db.path());
  auto conv = s->CreateConversation({.user_key = "ana", .title = "real", .metadata_json = R"({"source":"cli"})"});
  ASSERT_OK(conv);
  auto msg = s->AddMessage(conv->id, {.content = "hello", .metadata_json = R"({"n":1})"});
  ASSERT_OK(msg);
  auto call = s->AddToolCall(msg->id, {.tool_name = "grep", .input_json = R"({"q":"x"})"});
  ASSERT_OK(call);
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .metadata_json = R"({"k":"v"})", .request_id = "r1"}));

  // Splicing fields into the record through a metadata cell.
  ExecOnFile(db.path(), R"(UPDATE conversations SET metadata = '{"source":"cli"},"title":"INJECTED","user":"mallory","zz":{}')");
  ExpectCorruption(s->GetConversationInfo(conv->id), "metadata is not valid JSON");
  ExpectCorruption(s->GetConversationInfo(conv->id), conv->id);
  ExpectCorruption(s->GetConversation(conv->id), "conversation");
  ExpectCorruption(s->ListConversations({.user_key = "ana"}), "metadata");
  ExecOnFile(db.path(), "UPDATE conversations SET metadata = '[1,2'");
  ExpectCorruption(s->GetConversationInfo(conv->id), "not valid JSON");
  ExecOnFile(db.path(), "UPDATE conversations SET metadata = '[1,2]'");
  ExpectCorruption(s->GetConversationInfo(conv->id), "not a JSON object");
  ExecOnFile(db.path(), R"(UPDATE conversations SET metadata = '{"source":"cli"}')");
  ASSERT_OK(s->GetConversationInfo(conv->id));
  EXPECT_EQ(s->GetConversationInfo(conv->id)->title, "real");

  // Invalid UTF-8 in content, in a title, in a user's email.
  ExecOnFile(db.path(), "UPDATE messages SET content = CAST(X'68ff69' AS TEXT)");
  ExpectCorruption(s->GetConversation(conv->id), "content is not valid UTF-8");
  ExpectCorruption(s->GetContext(conv->id, 1000), msg->id);
  ExecOnFile(db.path(), "UPDATE messages SET content = 'hello'");
  ASSERT_OK(s->GetConversation(conv->id));
  ExecOnFile(db.path(), "UPDATE conversations SET title = CAST(X'c0af' AS TEXT)");
  ExpectCorruption(s->GetConversationInfo(conv->id), "title is not valid UTF-8");
  ExecOnFile(db.path(), "UPDATE conversations SET title = 'real'");
  ExecOnFile(db.path(), "UPDATE users SET email = CAST(X'eda080' AS TEXT)");
  ExpectCorruption(s->GetUser("ana"), "email");
  ExecOnFile(db.path(), "UPDATE users SET email = ''");

  // Message metadata, tool input and output, API-usage metadata.
  ExecOnFile(db.path(), R"(UPDATE messages SET metadata = '{"n":1}}')");
  ExpectCorruption(s->GetConversation(conv->id), "message");
  ExecOnFile(db.path(), R"(UPDATE messages SET metadata = '{"n":1}')");
  ExecOnFile(db.path(), R"(UPDATE tool_calls SET input = '{"q":')");
  ExpectCorruption(s->ListToolCalls(msg->id), "input is not valid JSON");
  ExecOnFile(db.path(), R"(UPDATE tool_calls SET input = '{"q":"x"}', output = '"unterminated')");
  ExpectCorruption(s->ListToolCalls(msg->id), "output is not valid JSON");
  ExecOnFile(db.path(), "UPDATE tool_calls SET output = NULL");
  ASSERT_OK(s->ListToolCalls(msg->id));
  ExecOnFile(db.path(), "UPDATE api_usage SET metadata = 'null'");
  ExpectCorruption(s->RecordApiUsage({.user_key = "ana", .model = "m", .request_id = "r1"}), "api usage");
  ExecOnFile(db.path(), R"(UPDATE api_usage SET metadata = '{"k":"v"}')");
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .request_id = "r1"}));
}

// A store with a little of everything, closed.
void Populate(const std::string& path) {
  auto s = OpenOrDie(path);
  auto conv = s->CreateConversation({.user_key = "ana", .metadata_json = R"({"k":1})"});
  ASSERT_OK(conv);
  ASSERT_OK(s->AddMessage(conv->id, {.content = "secret", .cost_nanousd = 100}));
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 5}));
}

struct Hostile {
  const char* what;
  const char* sql;
  const char* named;  // a word the refusal must contain
};

TEST(HostileSchemaTest, ForeignObjectsOnConvstoreTablesAndDamagedSchemasAreRefused) {
  const Hostile cases[] = {
      {"trigger copying deleted content", "CREATE TABLE shadow(content TEXT); CREATE TRIGGER keep_copy BEFORE DELETE ON "
       "messages BEGIN INSERT INTO shadow VALUES (old.content); END;", "trigger 'keep_copy' on convstore's table 'messages'"},
      {"trigger zeroing costs", "CREATE TRIGGER free_calls AFTER INSERT ON api_usage BEGIN UPDATE api_usage SET "
       "cost_nanousd = 0 WHERE id = new.id; END;", "trigger 'free_calls'"},
      {"view reading messages", "CREATE VIEW everything AS SELECT content FROM messages;", "view 'everything' reads"},
      {"view through an unknown function", "CREATE VIEW leak AS SELECT app_fn(content) FROM messages;",
       "view 'leak' reads"},
      {"index not created by convstore", "CREATE UNIQUE INDEX content_once ON messages(content);", "index 'content_once'"},
      {"dropped table", "DROP TABLE cost_totals;", "table 'cost_totals' is missing"},
      {"dropped column", "ALTER TABLE messages DROP COLUMN model_version;", "lacks column 'model_version'"},
      {"added column", "ALTER TABLE messages ADD COLUMN leaked TEXT;", "'leaked'"},
      {"messages replaced by a view", "ALTER TABLE messages RENAME TO messages_old; CREATE VIEW messages AS SELECT * "
       "FROM messages_old;", "'messages' is a view"},
      {"a dropped index", "DROP INDEX messages_request_id;", "index 'messages_request_id' is missing"},
  };
  for (const Hostile& h : cases) {
    SCOPED_TRACE(h.what);
    TempDb db;
    Populate(db.path());
    ExecOnFile(db.path(), h.sql);
    const int64_t size_before = QueryInt(db.path(), "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
    for (bool read_only : {false, true}) {
      Options o;
      o.read_only = read_only;
      auto r = ConversationStore::Open(db.path(), o);
      ExpectCorruption(r, h.named);
      ExpectCorruption(r, "schema");
    }
    EXPECT_EQ(QueryInt(db.path(), "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"), size_before);
  }
}

TEST(HostileSchemaTest, AnApplicationsOwnTablesIndexesTriggersAndViewsAreAllowed) {
  TempDb db;
  Populate(db.path());
  ExecOnFile(db.path(), "CREATE TABLE app_notes(id INTEGER PRIMARY KEY, note TEXT);"
                  "CREATE INDEX app_notes_note ON app_notes(note);"
                  "CREATE TABLE app_log(note TEXT);"
                  "CREATE TRIGGER app_notes_log AFTER INSERT ON app_notes BEGIN INSERT INTO app_log VALUES (new.note); END;"
                  "CREATE VIEW app_recent AS SELECT note FROM app_notes ORDER BY id DESC;"
                  // A view through a function only the application registers: judged by the words of its SQL.
                  "CREATE VIEW app_upper AS SELECT app_fn(note) FROM app_notes;");
  auto s = OpenOrDie(db.path());
  auto conv = s->CreateConversation({.user_key = "bob"});
  ASSERT_OK(conv);
  ASSERT_OK(s->AddMessage(conv->id, {.content = "fine"}));
  ExecOnFile(db.path(), "INSERT INTO app_notes(note) VALUES ('mine')");
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM app_log"), 1);
}

TEST(HostileSchemaTest, AResetNextPositionIsCorruptionNotAConflict) {
  TempDb db;
  Populate(db.path());
  auto s = OpenOrDie(db.path());
  auto list = s->ListConversations({.user_key = "ana"});
  ASSERT_OK(list);
  const std::string conv = list->items.at(0).id;
  for (int i = 0; i < 40; ++i) ASSERT_OK(s->AddMessage(conv, {.content = "more"}));
  // Fewer than 32 messages are ever pending past a conversation's stored next_position: set back by more, the
  // counter was changed outside convstore.
  ExecOnFile(db.path(), "UPDATE conversations SET next_position = 0");
  auto r = s->AddMessage(conv, {.content = "next"});
  ExpectCorruption(r, "next_position");
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), 41);
  ExecOnFile(db.path(), "UPDATE conversations SET next_position = -1");
  ExpectCorruption(s->AddMessage(conv, {.content = "next"}), "next_position");
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), 41);
}

// ---- derived tables that lie ----------------------------------------------------------------------------------

constexpr int64_t kUsd = 1'000'000'000;

// A store where team "t" has spent $600 today through 300 calls (so the rollups, totals and posting lists all have
// content), and a $1,000 hard budget on the team.
void SpendSixHundred(const std::string& path) {
  auto s = OpenOrDie(path);
  ASSERT_OK(s->UpsertTeam({.key = "t"}));
  ASSERT_OK(s->UpsertUser({.key = "ana", .team_key = std::string("t")}));
  ASSERT_OK(s->SetBudget({.name = "t-day", .scope = "team", .scope_key = "t", .period = "day",
                          .hard_limit_nanousd = 1000 * kUsd}));
  auto conv = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  for (int i = 0; i < 300; ++i)
    ASSERT_OK(s->AddMessage(conv->id, {.content = "x", .model = "m", .cost_nanousd = 2 * kUsd,
                                       .metadata_json = R"({"kind":"call"})"}));
}

Options Checked() {
  Options o;
  o.quick_check_on_open = true;
  return o;
}

TEST(HostileDerivedTest, ZeroedTotalsAreCaughtAtOpenAndNoBudgetRestsOnThem) {
  TempDb db;
  SpendSixHundred(db.path());
  {
    auto s = OpenOrDie(db.path());
    EXPECT_CODE(s->Reserve({.request_id = "r", .user_key = "ana", .estimated_cost_nanousd = 900 * kUsd}),
                Code::kBudgetExceeded);
  }
  ExecOnFile(db.path(), "UPDATE cost_totals SET count = 1, cost_nanousd = 0, tokens_input = 0, tokens_output = 0");
  ExpectCorruption(ConversationStore::Open(db.path(), Checked()), "totals differ from the sum of their rollups");
  // The checked open refused the file; so does a reservation's own check of a value that cannot be: negative.
  ExecOnFile(db.path(), "UPDATE cost_totals SET count = 1, cost_nanousd = -600000000000");
  auto s = OpenOrDie(db.path());
  ExpectCorruption(s->Reserve({.request_id = "r", .user_key = "ana", .estimated_cost_nanousd = 900 * kUsd}),
                   "cost_totals");
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM budget_reservations"), 0);
  ExpectCorruption(s->GetCostSummary({.days = 1}), "impossible sums");
}

TEST(HostileDerivedTest, NegatedRollupsAreCorruptionNotANegativeSummary) {
  TempDb db;
  SpendSixHundred(db.path());
  ExecOnFile(db.path(), "UPDATE cost_rollups SET cost_nanousd = -cost_nanousd");
  {
    auto s = OpenOrDie(db.path());
    ExpectCorruption(s->GetCostSummary({.days = 1, .user_key = "ana"}), "cost_rollups");
    ExpectCorruption(s->GroupCosts({.days = 1}, {"model"}), "impossible sums");
    auto verify = s->VerifyRollups();  // verify reads the damage rather than refusing it
    ASSERT_OK(verify);
    EXPECT_GT(verify->differences, 0);
  }
  ExpectCorruption(ConversationStore::Open(db.path(), Checked()), "impossible sums");
  {
    auto s = OpenOrDie(db.path());
    ASSERT_OK(s->RebuildRollups());
  }
  auto s = ConversationStore::Open(db.path(), Checked());
  ASSERT_OK(s);
  auto sum = (*s)->GetCostSummary({.days = 1, .user_key = "ana"});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_cost_nanousd, 600 * kUsd);
}

TEST(HostileDerivedTest, PendingRowsThatConvstoreNeverWritesAreRefused) {
  TempDb db;
  SpendSixHundred(db.path());
  // A negative pending row would lower the spend a budget sees.
  ExecOnFile(db.path(), "INSERT INTO cost_pending(at, user_id, team_id, model, source, role, endpoint, status, tokens_input,"
                  " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd)"
                  " SELECT m.created_at, c.user_id, coalesce(m.team_id, 0), m.model, 0, m.role, '', '', 0, 0, 0, 0, 0,"
                  " -500000000000 FROM messages m JOIN conversations c ON c.id = m.conversation_id LIMIT 1");
  {
    auto s = OpenOrDie(db.path());
    ExpectCorruption(s->Reserve({.request_id = "r", .user_key = "ana", .estimated_cost_nanousd = 900 * kUsd}),
                     "cost_pending");
    ExpectCorruption(s->GetCostSummary({.days = 1}), "cost_pending");
  }
  ExecOnFile(db.path(), "DELETE FROM cost_pending WHERE cost_nanousd < 0");
  ASSERT_OK(ConversationStore::Open(db.path(), Checked()));
  // More pending rows than the fold size allows.
  ExecOnFile(db.path(), "INSERT INTO cost_pending(at, user_id, team_id, model, source, role, endpoint, status, tokens_input,"
                  " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd)"
                  " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
                  " SELECT p.created_at, p.user_id, p.team_id, p.model, 0, p.role, '', '', 0, 0, 0, 0, 0, 0"
                  " FROM n, (SELECT m.created_at, c.user_id, coalesce(m.team_id, 0) AS team_id, m.model, m.role"
                  " FROM messages m JOIN conversations c ON c.id = m.conversation_id LIMIT 1) p");
  ExpectCorruption(ConversationStore::Open(db.path(), Checked()), "should have been folded");
}

// The cost watermark (the newest message the rollups count) changed outside convstore: a missing, negative or
// impossibly large one is refused, one moved back (messages counted twice, and too many past it) or forward
// (messages never counted) is found by the checks; a rebuild repairs each.
TEST(HostileDerivedTest, ADamagedCostWatermarkIsFoundAndRebuildRepairsIt) {
  TempDb db;
  SpendSixHundred(db.path());  // 300 messages: 256 folded, 44 pending
  EXPECT_EQ(QueryInt(db.path(), testing::kPendingMessagesSql), 44);
  for (const char* damage : {"DELETE FROM cost_fold", "UPDATE cost_fold SET messages_through = -1",
                             "UPDATE cost_fold SET messages_through = 9223372036854775000"}) {
    SCOPED_TRACE(damage);
    ExecOnFile(db.path(), damage);
    {
      auto s = OpenOrDie(db.path());
      ExpectCorruption(s->GetCostSummary({.days = 1}), "cost_fold");
      ExpectCorruption(s->AddMessage(s->ListConversations({.user_key = "ana"})->items.at(0).id,
                                     {.content = "x", .cost_nanousd = 1}),
                       "cost_fold");
      ASSERT_OK(s->RebuildRollups());
      auto sum = s->GetCostSummary({.days = 1, .user_key = "ana"});
      ASSERT_OK(sum);
      EXPECT_EQ(sum->total_cost_nanousd, 600 * kUsd);
    }
    ASSERT_OK(ConversationStore::Open(db.path(), Checked()));
  }
  for (const char* damage : {"UPDATE cost_fold SET messages_through = 0",
                             "UPDATE cost_fold SET messages_through = messages_through - 10"}) {
    SCOPED_TRACE(damage);
    ExecOnFile(db.path(), damage);
    {
      auto s = OpenOrDie(db.path());
      auto report = s->VerifyRollups();
      ASSERT_OK(report);
      EXPECT_GT(report->differences, 0);
      ASSERT_OK(s->RebuildRollups());
      auto sum = s->GetCostSummary({.days = 1, .user_key = "ana"});
      ASSERT_OK(sum);
      EXPECT_EQ(sum->total_cost_nanousd, 600 * kUsd);
    }
    ASSERT_OK(ConversationStore::Open(db.path(), Checked()));
  }
  ExecOnFile(db.path(), "UPDATE cost_fold SET messages_through = 0");
  ExpectCorruption(ConversationStore::Open(db.path(), Checked()), "past the cost watermark");
}

TEST(HostileDerivedTest, ACutPostingBlockOrCountIsCorruptionNotFewerResults) {
  TempDb db;
  SpendSixHundred(db.path());
  MetadataQuery q;
  q.target = MetadataTarget::kMessages;
  q.contains_json = R"({"kind":"call"})";
  q.limit = 1000;
  {
    auto s = OpenOrDie(db.path());
    auto all = s->SearchMetadata(q);
    ASSERT_OK(all);
    EXPECT_EQ(all->messages.size(), 300u);
  }
  // Cut a sealed block of the list short.
  ExecOnFile(db.path(), "UPDATE metadata_postings SET entries = substr(entries, 1, 160) WHERE (kind, term, at, obj) ="
                  " (SELECT kind, term, at, obj FROM metadata_postings WHERE kind = 1 AND at < 9223372036854775807"
                  " AND term LIKE '%call%' LIMIT 1)");
  {
    auto s = OpenOrDie(db.path());
    ExpectCorruption(s->SearchMetadata(q), "its count says");
  }
  ExpectCorruption(ConversationStore::Open(db.path(), Checked()), "posting list");
  {
    auto s = OpenOrDie(db.path());
    ASSERT_OK(s->RebuildMetadataIndex());
    auto all = s->SearchMetadata(q);
    ASSERT_OK(all);
    EXPECT_EQ(all->messages.size(), 300u);
  }
  // A count that says more than the list holds (a whole block dropped).
  ExecOnFile(db.path(), "DELETE FROM metadata_postings WHERE kind = 1 AND at < 9223372036854775807 AND term LIKE '%call%'"
                  " AND at = (SELECT min(at) FROM metadata_postings WHERE kind = 1 AND term LIKE '%call%')");
  auto s = OpenOrDie(db.path());
  ExpectCorruption(s->SearchMetadata(q), "its count says");
}

}  // namespace
}  // namespace convstore
