// Removing and correcting history: delete, pop, clear and edit of messages; what stays (spend, request ids,
// positions); the metadata index and counters in step; conversations' external ids; raw items; tool calls recorded
// with their message and finished by their result.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace convstore {
namespace {

using testing::FakeClock;
using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

class HistoryEditTest : public ::testing::TestWithParam<bool> {  // param: file store (true) or in-memory (false)
 protected:
  void SetUp() override {
    Options o;
    o.env = &clock_;
    store_ = OpenOrDie(GetParam() ? db_.path() : ConversationStore::kInMemory, o);
    auto c = store_->CreateConversation({.user_key = "ana", .title = "t"});
    ASSERT_OK(c);
    conv_ = c->id;
  }
  Message Add(std::string content, std::optional<NanoUsd> cost = {}, std::string request_id = "",
              std::string metadata = "{}") {
    auto r = store_->AddMessage(conv_, {.role = Role::kUser, .content = std::move(content), .tokens_input = 10,
                                        .cost_nanousd = cost, .metadata_json = std::move(metadata),
                                        .request_id = std::move(request_id)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Message{};
  }
  void ExpectConsistent() {
    auto rollups = store_->VerifyRollups();
    ASSERT_OK(rollups);
    EXPECT_EQ(rollups->differences, 0) << (rollups->samples.empty() ? "" : rollups->samples.front());
    auto index = store_->VerifyMetadataIndex();
    ASSERT_OK(index);
    EXPECT_TRUE(index->consistent());
  }
  testing::ClockEnv clock_{FakeClock()};
  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
  std::string conv_;
};

INSTANTIATE_TEST_SUITE_P(FileAndMemory, HistoryEditTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "file" : "memory"; });

TEST_P(HistoryEditTest, DeleteAndPopKeepTheSpendAndLeaveGapsInPositions) {
  Add("a", 1'000, "req-a");
  auto b = Add("b", 2'000, "req-b");
  Add("c", 4'000);
  ASSERT_OK(store_->SetBudget({.name = "all", .scope = "global", .period = "month", .hard_limit_nanousd = 100'000}));
  auto before = store_->GetCostSummary({.days = 30});
  ASSERT_OK(before);
  EXPECT_EQ(before->total_cost_nanousd, 7'000);

  auto deleted = store_->DeleteMessage(b.id);
  ASSERT_OK(deleted);
  EXPECT_EQ(deleted->content, "b");
  EXPECT_CODE(store_->DeleteMessage(b.id), Code::kNotFound);
  auto popped = store_->PopMessage(conv_);
  ASSERT_OK(popped);
  ASSERT_TRUE(popped->has_value());
  EXPECT_EQ((*popped)->content, "c");

  // What is left: one message at position 0; the next one goes to position 3 (positions are not reused).
  auto conv = store_->GetConversation(conv_);
  ASSERT_OK(conv);
  ASSERT_EQ(conv->messages.size(), 1u);
  EXPECT_EQ(conv->message_count, 1);
  EXPECT_EQ(conv->conversation.message_count, 1);
  EXPECT_EQ(conv->conversation.cost_nanousd, 7'000);  // the conversation's totals keep what was spent
  EXPECT_EQ(conv->conversation.tokens.input, 30);
  EXPECT_EQ(Add("d").position, 3);

  // Money spent stays spent: the summary and the budget still count the deleted messages.
  auto after = store_->GetCostSummary({.days = 30});
  ASSERT_OK(after);
  EXPECT_EQ(after->total_cost_nanousd, 7'000);
  auto by_conversation = store_->GetCostSummary({.days = 30, .conversation_id = conv_});
  ASSERT_OK(by_conversation);
  EXPECT_EQ(by_conversation->total_cost_nanousd, 7'000);
  auto budgets = store_->GetBudgets(0);
  ASSERT_OK(budgets);
  ASSERT_EQ(budgets->size(), 1u);
  EXPECT_EQ((*budgets)[0].spent_nanousd, 7'000);
  ExpectConsistent();

  // A retry with a deleted message's request_id does not bring it back; the tombstone keeps no content.
  auto retry = store_->AddMessage(conv_, {.role = Role::kUser, .content = "b", .request_id = "req-b"});
  EXPECT_CODE(retry, Code::kConflict);
  EXPECT_NE(retry.status().message().find("deleted"), std::string::npos);
  auto again = store_->AddMessage(conv_, {.role = Role::kUser, .content = "a", .request_id = "req-a"});
  ASSERT_OK(again);  // a live message's retry still answers with it
  EXPECT_EQ(again->position, 0);
  if (GetParam()) {
    EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM message_tombstones"), 2);
    EXPECT_EQ(QueryInt(db_.path(), "SELECT sum(cost_nanousd) FROM message_tombstones"), 6'000);
  }
}

TEST_P(HistoryEditTest, PopOfAnEmptyConversationIsNothingAndUnknownIdsAreNotFound) {
  auto none = store_->PopMessage(conv_);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  EXPECT_CODE(store_->PopMessage("00000000-0000-7000-8000-000000000000"), Code::kNotFound);
  EXPECT_CODE(store_->ClearMessages("00000000-0000-7000-8000-000000000000"), Code::kNotFound);
  EXPECT_CODE(store_->DeleteMessage("00000000-0000-7000-8000-000000000000"), Code::kNotFound);
  EXPECT_CODE(store_->EditMessage("00000000-0000-7000-8000-000000000000", {.content = "x"}), Code::kNotFound);
  EXPECT_CODE(store_->PopMessage(""), Code::kInvalidArgument);
  EXPECT_CODE(store_->DeleteMessage(std::string(300, 'x')), Code::kTooLarge);
}

TEST_P(HistoryEditTest, ClearDeletesEveryMessageAndTheirToolCallsAndKeepsTheConversation) {
  for (int i = 0; i < 5; ++i) Add("m" + std::to_string(i), 100);
  auto with_call = store_->AddMessage(conv_, {.role = Role::kAssistant, .content = "calling",
                                              .tool_calls = {{.tool_name = "t", .status = ToolStatus::kPending,
                                                              .call_id = "call_1"}}});
  ASSERT_OK(with_call);
  auto cleared = store_->ClearMessages(conv_);
  ASSERT_OK(cleared);
  EXPECT_EQ(*cleared, 6);
  auto conv = store_->GetConversation(conv_);
  ASSERT_OK(conv);
  EXPECT_TRUE(conv->messages.empty());
  EXPECT_EQ(conv->conversation.message_count, 0);
  EXPECT_EQ(conv->conversation.cost_nanousd, 500);
  EXPECT_CODE(store_->ListToolCalls(with_call->id), Code::kNotFound);
  auto none = store_->ClearMessages(conv_);
  ASSERT_OK(none);
  EXPECT_EQ(*none, 0);
  ExpectConsistent();
  // Deleting the conversation afterwards removes its spend, tombstones included (as it always has).
  ASSERT_OK(store_->DeleteConversation(conv_));
  auto sum = store_->GetCostSummary({.days = 30});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_cost_nanousd, 0);
  ExpectConsistent();
}

TEST_P(HistoryEditTest, TheMetadataIndexFollowsDeletesAndEdits) {
  // Past a fold, so the documents are in the posting lists rather than the tail.
  std::vector<NewMessage> batch;
  for (int i = 0; i < 300; ++i)
    batch.push_back({.content = "x", .metadata_json = i == 7 ? R"({"tag":"gone"})" : R"({"tag":"keep"})"});
  auto added = store_->AddMessages(conv_, batch);
  ASSERT_OK(added);
  auto find = [&](const char* tag) {
    auto r = store_->SearchMetadata({.target = MetadataTarget::kMessages,
                                     .contains_json = nlohmann::json{{"tag", tag}}.dump(), .limit = 1000});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->messages.size() : size_t{0};
  };
  EXPECT_EQ(find("gone"), 1u);
  ASSERT_OK(store_->DeleteMessage((*added)[7].id));
  EXPECT_EQ(find("gone"), 0u);
  ExpectConsistent();

  auto edited = store_->EditMessage((*added)[8].id, {.content = "fixed", .metadata_json = R"({"tag": "edited"})"});
  ASSERT_OK(edited);
  EXPECT_EQ(edited->content, "fixed");
  EXPECT_EQ(edited->metadata_json, R"({"tag":"edited"})");
  EXPECT_EQ(edited->tokens_input, std::nullopt);
  EXPECT_EQ(find("edited"), 1u);
  EXPECT_EQ(find("keep"), 298u);
  ExpectConsistent();
  auto popped = store_->PopMessage(conv_);
  ASSERT_OK(popped);
  EXPECT_EQ(find("keep"), 297u);
  ExpectConsistent();
}

TEST_P(HistoryEditTest, EditsAreCheckedAndWriteNothingWhenRefused) {
  auto m = Add("original", 5);
  EXPECT_CODE(store_->EditMessage(m.id, {}), Code::kInvalidArgument);
  EXPECT_CODE(store_->EditMessage(m.id, {.metadata_json = "[1]"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->EditMessage(m.id, {.raw_json = "{nope"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->EditMessage(m.id, {.content = std::string("\xff", 1)}), Code::kInvalidArgument);
  auto same = store_->GetLastMessages(conv_, 1);
  ASSERT_OK(same);
  EXPECT_EQ((*same)[0].content, "original");
  auto raw = store_->EditMessage(m.id, {.raw_json = R"({"type":"message","n":1})"});
  ASSERT_OK(raw);
  EXPECT_EQ(raw->raw_json, R"({"type":"message","n":1})");
  EXPECT_EQ(raw->content, "original");
  auto cleared = store_->EditMessage(m.id, {.raw_json = ""});
  ASSERT_OK(cleared);
  EXPECT_EQ(cleared->raw_json, "");
  EXPECT_EQ(cleared->cost_nanousd, 5);
}

TEST_P(HistoryEditTest, RawItemsComeBackAsGiven) {
  const std::string item = R"({"type": "reasoning", "id": "rs_1", "summary": [{"text": "think", "type": "x"}],
                               "big": 12345678901234567890, "f": 0.1})";
  auto m = store_->AddMessage(conv_, {.role = Role::kAssistant, .content = "", .raw_json = item});
  ASSERT_OK(m);
  EXPECT_EQ(m->raw_json, item);
  auto read = store_->GetConversation(conv_);
  ASSERT_OK(read);
  EXPECT_EQ(read->messages[0].raw_json, item);  // byte for byte
  EXPECT_CODE(store_->AddMessage(conv_, {.content = "x", .raw_json = "{"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->AddMessage(conv_, {.content = "x", .raw_json = std::string(limits::kMaxContentBytes + 1, ' ')}),
              Code::kTooLarge);
}

TEST_P(HistoryEditTest, ExternalIdsGetOrCreateOneConversationPerId) {
  auto first = store_->CreateConversation({.user_key = "ana", .title = "one", .external_id = "session-1"});
  ASSERT_OK(first);
  EXPECT_EQ(first->external_id, "session-1");
  auto second = store_->CreateConversation({.user_key = "ana", .title = "other title", .external_id = "session-1"});
  ASSERT_OK(second);
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->title, "one");  // returned unchanged
  EXPECT_CODE(store_->CreateConversation({.user_key = "bob", .external_id = "session-1"}), Code::kConflict);
  EXPECT_CODE(store_->CreateConversation({.user_key = "ana", .external_id = std::string(300, 'x')}),
              Code::kTooLarge);
  auto info = store_->GetConversationInfo(first->id);
  ASSERT_OK(info);
  EXPECT_EQ(info->external_id, "session-1");
}

TEST_P(HistoryEditTest, ToolCallsRecordedWithTheirMessageAreFinishedByTheirResult) {
  auto call_msg = store_->AddMessages(
      conv_, {{.role = Role::kAssistant, .content = "",
               .tool_calls = {{.tool_name = "weather", .input_json = R"({"city":"Oslo"})",
                               .status = ToolStatus::kPending, .call_id = "call_w"}}},
              {.role = Role::kTool, .content = R"({"temp": 3})", .tool_call_id = "call_w"},
              {.role = Role::kTool, .content = "plain text", .tool_call_id = "call_w"}});
  ASSERT_OK(call_msg);
  ASSERT_EQ((*call_msg)[0].tool_calls.size(), 1u);
  EXPECT_EQ((*call_msg)[0].tool_calls[0].call_id, "call_w");
  EXPECT_EQ((*call_msg)[0].tool_calls[0].message_id, (*call_msg)[0].id);
  auto calls = store_->ListToolCalls((*call_msg)[0].id);
  ASSERT_OK(calls);
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ((*calls)[0].status, ToolStatus::kSuccess);  // finished by the first result; the second changes nothing
  EXPECT_EQ((*calls)[0].output_json, R"({"temp":3})");
  ASSERT_TRUE((*calls)[0].duration_us.has_value());

  // A text result becomes a JSON string; a bad call refuses the whole batch.
  auto text = store_->AddMessages(conv_, {{.role = Role::kAssistant, .content = "",
                                           .tool_calls = {{.tool_name = "echo", .status = ToolStatus::kPending,
                                                           .call_id = "call_e"}}},
                                          {.role = Role::kTool, .content = "hi \"there\"", .tool_call_id = "call_e"}});
  ASSERT_OK(text);
  auto echo = store_->ListToolCalls((*text)[0].id);
  ASSERT_OK(echo);
  EXPECT_EQ((*echo)[0].output_json, R"("hi \"there\"")");
  auto count = store_->GetConversationInfo(conv_);
  ASSERT_OK(count);
  auto bad = store_->AddMessages(conv_, {{.content = "ok"},
                                         {.role = Role::kAssistant, .content = "", .tool_calls = {{.tool_name = ""}}}});
  EXPECT_CODE(bad, Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("messages[1].tool_calls[0]"), std::string::npos) << bad.status().ToString();
  auto dup = store_->AddMessage(conv_, {.role = Role::kAssistant, .content = "",
                                        .tool_calls = {{.tool_name = "t", .call_id = "call_w"}}});
  EXPECT_CODE(dup, Code::kConflict);  // call ids are unique in the conversation
  auto same = store_->GetConversationInfo(conv_);
  ASSERT_OK(same);
  EXPECT_EQ(same->message_count, count->message_count);
}

}  // namespace
}  // namespace convstore

namespace convstore {
namespace {

TEST(AgentItems, ItemsBecomeMessagesWithTheirCallsAndUsage) {
  auto store = testing::OpenOrDie(ConversationStore::kInMemory);
  auto conv = store->CreateConversation({.user_key = "agents-sdk", .external_id = "agents-sdk:s"});
  ASSERT_OK(conv);
  const std::string items = R"([
    {"role": "user", "content": "weather?"},
    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "look it up"}]},
    {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{\"city\": \"Oslo\"}"},
    {"type": "function_call_output", "call_id": "c1", "output": "3C"},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "3C."}]},
    {"type": "something_new", "x": [1, 2]}])";
  auto n = store->AddAgentItems(conv->id, items, {.input_tokens = 100, .output_tokens = 20, .model = "gpt-4o"});
  ASSERT_OK(n);
  EXPECT_EQ(*n, 6);
  auto got = store->GetConversation(conv->id);
  ASSERT_OK(got);
  const auto& m = got->messages;
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0].role, Role::kUser);
  EXPECT_EQ(m[0].content, "weather?");
  EXPECT_EQ(m[1].content, "look it up");
  EXPECT_EQ(m[1].tokens_input, 100);  // usage on the first assistant item
  EXPECT_EQ(m[1].model, "gpt-4o");
  EXPECT_TRUE(m[1].cost_nanousd.has_value());
  EXPECT_EQ(m[3].role, Role::kTool);
  EXPECT_EQ(m[3].tool_call_id, "c1");
  EXPECT_EQ(m[4].content, "3C.");
  EXPECT_EQ(nlohmann::json::parse(m[5].raw_json), nlohmann::json::parse(R"({"type": "something_new", "x": [1, 2]})"));
  auto calls = store->ListToolCalls(m[2].id);
  ASSERT_OK(calls);
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ((*calls)[0].input_json, R"({"city":"Oslo"})");
  EXPECT_EQ((*calls)[0].status, ToolStatus::kSuccess);
  EXPECT_EQ((*calls)[0].output_json, R"("3C")");

  // Bad input writes nothing.
  for (const char* bad : {"{}", "[1]", R"([{"type": 5}])", R"([{"role": "user", "content": "x"}, "x"])", "[", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_CODE(store->AddAgentItems(conv->id, bad), Code::kInvalidArgument);
  }
  EXPECT_CODE(store->AddAgentItems(conv->id, R"([{"role": "user", "content": "x"}])", {.input_tokens = 1}),
              Code::kInvalidArgument);  // usage without an assistant item
  EXPECT_CODE(store->AddAgentItems(conv->id, R"([{"role": "assistant", "content": "x"}])", {.input_tokens = -1}),
              Code::kInvalidArgument);
  EXPECT_CODE(store->AddAgentItems("", "[]"), Code::kInvalidArgument);
  EXPECT_CODE(store->AddAgentItems("00000000-0000-7000-8000-000000000000", R"([{"role":"user","content":"x"}])"),
              Code::kNotFound);
  auto same = store->GetConversationInfo(conv->id);
  ASSERT_OK(same);
  EXPECT_EQ(same->message_count, 6);
}

TEST(ImportHistory, RefusesWhatItCannotReadAndWritesNothing) {
  auto store = testing::OpenOrDie(ConversationStore::kInMemory);
  TempDb missing;
  EXPECT_CODE(store->ImportHistory({}), Code::kInvalidArgument);
  EXPECT_NE(testing::CodeOf(store->ImportHistory({.source_path = missing.path()})), Code::kOk);
  TempDb other;  // a convstore file is neither format
  { auto s = testing::OpenOrDie(other.path()); }
  EXPECT_CODE(store->ImportHistory({.source_path = other.path()}), Code::kInvalidArgument);
  EXPECT_CODE(store->ImportHistory({.source_path = other.path(), .format = ImportFormat::kAiDatabaseV1}),
              Code::kInvalidArgument);
  EXPECT_CODE(store->ImportHistory({.source_path = other.path(), .format = static_cast<ImportFormat>(7)}),
              Code::kInvalidArgument);
  EXPECT_CODE(store->ImportHistory({.source_path = other.path(), .user_key = std::string(300, 'u')}), Code::kTooLarge);
}

}  // namespace
}  // namespace convstore
