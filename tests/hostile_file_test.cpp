// Files that lie: cells, schema objects and derived tables edited by someone with write access (or damaged by a
// bad disk). What convstore reads back is checked — a stored value it would not have written is kCorruption naming
// the record, never passed on — and a file whose schema is not what convstore's migrations create is refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

// Runs SQL on the file with a separate raw connection (no convstore checks in the way).
void Edit(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << "\n" << sql;
  sqlite3_free(err);
  sqlite3_close(db);
}

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
  Edit(db.path(), R"(UPDATE conversations SET metadata = '{"source":"cli"},"title":"INJECTED","user":"mallory","zz":{}')");
  ExpectCorruption(s->GetConversationInfo(conv->id), "metadata is not valid JSON");
  ExpectCorruption(s->GetConversationInfo(conv->id), conv->id);
  ExpectCorruption(s->GetConversation(conv->id), "conversation");
  ExpectCorruption(s->ListConversations({.user_key = "ana"}), "metadata");
  Edit(db.path(), "UPDATE conversations SET metadata = '[1,2'");
  ExpectCorruption(s->GetConversationInfo(conv->id), "not valid JSON");
  Edit(db.path(), "UPDATE conversations SET metadata = '[1,2]'");
  ExpectCorruption(s->GetConversationInfo(conv->id), "not a JSON object");
  Edit(db.path(), R"(UPDATE conversations SET metadata = '{"source":"cli"}')");
  ASSERT_OK(s->GetConversationInfo(conv->id));
  EXPECT_EQ(s->GetConversationInfo(conv->id)->title, "real");

  // Invalid UTF-8 in content, in a title, in a user's email.
  Edit(db.path(), "UPDATE messages SET content = CAST(X'68ff69' AS TEXT)");
  ExpectCorruption(s->GetConversation(conv->id), "content is not valid UTF-8");
  ExpectCorruption(s->GetContext(conv->id, 1000), msg->id);
  Edit(db.path(), "UPDATE messages SET content = 'hello'");
  ASSERT_OK(s->GetConversation(conv->id));
  Edit(db.path(), "UPDATE conversations SET title = CAST(X'c0af' AS TEXT)");
  ExpectCorruption(s->GetConversationInfo(conv->id), "title is not valid UTF-8");
  Edit(db.path(), "UPDATE conversations SET title = 'real'");
  Edit(db.path(), "UPDATE users SET email = CAST(X'eda080' AS TEXT)");
  ExpectCorruption(s->GetUser("ana"), "email");
  Edit(db.path(), "UPDATE users SET email = ''");

  // Message metadata, tool input and output, API-usage metadata.
  Edit(db.path(), R"(UPDATE messages SET metadata = '{"n":1}}')");
  ExpectCorruption(s->GetConversation(conv->id), "message");
  Edit(db.path(), R"(UPDATE messages SET metadata = '{"n":1}')");
  Edit(db.path(), R"(UPDATE tool_calls SET input = '{"q":')");
  ExpectCorruption(s->ListToolCalls(msg->id), "input is not valid JSON");
  Edit(db.path(), R"(UPDATE tool_calls SET input = '{"q":"x"}', output = '"unterminated')");
  ExpectCorruption(s->ListToolCalls(msg->id), "output is not valid JSON");
  Edit(db.path(), "UPDATE tool_calls SET output = NULL");
  ASSERT_OK(s->ListToolCalls(msg->id));
  Edit(db.path(), "UPDATE api_usage SET metadata = 'null'");
  ExpectCorruption(s->RecordApiUsage({.user_key = "ana", .model = "m", .request_id = "r1"}), "api usage");
  Edit(db.path(), R"(UPDATE api_usage SET metadata = '{"k":"v"}')");
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
    Edit(db.path(), h.sql);
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
  Edit(db.path(), "CREATE TABLE app_notes(id INTEGER PRIMARY KEY, note TEXT);"
                  "CREATE INDEX app_notes_note ON app_notes(note);"
                  "CREATE TABLE app_log(note TEXT);"
                  "CREATE TRIGGER app_notes_log AFTER INSERT ON app_notes BEGIN INSERT INTO app_log VALUES (new.note); END;"
                  "CREATE VIEW app_recent AS SELECT note FROM app_notes ORDER BY id DESC;");
  auto s = OpenOrDie(db.path());
  auto conv = s->CreateConversation({.user_key = "bob"});
  ASSERT_OK(conv);
  ASSERT_OK(s->AddMessage(conv->id, {.content = "fine"}));
  Edit(db.path(), "INSERT INTO app_notes(note) VALUES ('mine')");
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM app_log"), 1);
}

TEST(HostileSchemaTest, AResetNextPositionIsCorruptionNotAConflict) {
  TempDb db;
  Populate(db.path());
  auto s = OpenOrDie(db.path());
  auto list = s->ListConversations({.user_key = "ana"});
  ASSERT_OK(list);
  const std::string conv = list->items.at(0).id;
  Edit(db.path(), "UPDATE conversations SET next_position = 0");
  auto r = s->AddMessage(conv, {.content = "next"});
  ExpectCorruption(r, "next_position");
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), 1);
}

}  // namespace
}  // namespace convstore
