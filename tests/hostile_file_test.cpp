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

}  // namespace
}  // namespace convstore
