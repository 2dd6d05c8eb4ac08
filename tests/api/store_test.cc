// End-to-end behaviour of the C++ API: conversations, messages, counters, pagination, tool calls, users, teams.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "convstore/logging.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::FakeClock;
using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

class StoreTest : public ::testing::TestWithParam<bool> {  // param: file store (true) or in-memory (false)
 protected:
  void SetUp() override {
    Options o;
    o.env = &clock_;
    store_ = OpenOrDie(GetParam() ? db_.path() : ConversationStore::kInMemory, o);
  }
  Conversation NewConv(const std::string& user = "engineer@company.com", const std::string& title = "BGP") {
    NewConversation c;
    c.user_key = user;
    c.title = title;
    auto r = store_->CreateConversation(c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  Message Add(const std::string& conv, Role role, const std::string& content, std::optional<int64_t> in = {},
              std::optional<int64_t> out = {}, std::optional<int64_t> cost = {}) {
    NewMessage m;
    m.role = role;
    m.content = content;
    m.tokens_input = in;
    m.tokens_output = out;
    m.cost_nanousd = cost;
    auto r = store_->AddMessage(conv, m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Message{};
  }
  testing::ClockEnv clock_{FakeClock()};  // declared before store_: outlives it
  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
};

INSTANTIATE_TEST_SUITE_P(FileAndMemory, StoreTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "file" : "memory"; });

TEST_P(StoreTest, ChapterV1FlowRoundTrips) {
  NewConversation nc;
  nc.user_key = "engineer@company.com";
  nc.title = "BGP Route Analysis";
  nc.metadata_json = R"({"source": "cli", "version": "1.0"})";
  auto conv = store_->CreateConversation(nc);
  ASSERT_OK(conv);
  EXPECT_EQ(conv->id.size(), 36u);
  EXPECT_EQ(conv->id[14], '7');  // UUIDv7
  EXPECT_EQ(conv->metadata_json, R"({"source":"cli","version":"1.0"})");

  Add(conv->id, Role::kUser, "Analyze this BGP config and identify potential issues");
  NewMessage a;
  a.role = Role::kAssistant;
  a.content = "I found 3 issues: 1) Missing route-map on neighbor...";
  a.model = "claude-sonnet-4-5";
  a.tokens_input = 1250;
  a.tokens_output = 890;
  a.cost_usd = 0.015;
  auto m2 = store_->AddMessage(conv->id, a);
  ASSERT_OK(m2);
  EXPECT_EQ(m2->cost_nanousd, 15'000'000);
  EXPECT_EQ(m2->position, 1);

  auto got = store_->GetConversation(conv->id);
  ASSERT_OK(got);
  EXPECT_EQ(got->conversation.title, "BGP Route Analysis");
  EXPECT_EQ(got->message_count, 2);
  ASSERT_EQ(got->messages.size(), 2u);
  EXPECT_EQ(got->messages[0].role, Role::kUser);
  EXPECT_EQ(got->messages[1].model, "claude-sonnet-4-5");
  EXPECT_EQ(got->messages[1].tokens_input, 1250);
  EXPECT_EQ(got->conversation.message_count, 2);
  EXPECT_EQ(got->conversation.tokens.input, 1250);
  EXPECT_EQ(got->conversation.tokens.output, 890);
  EXPECT_EQ(got->conversation.cost_nanousd, 15'000'000);

  ListConversationsOptions q;
  q.user_key = "engineer@company.com";
  q.limit = 5;
  auto page = store_->ListConversations(q);
  ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].message_count, 2);
  EXPECT_EQ(page->items[0].cost_nanousd, 15'000'000);
  EXPECT_TRUE(page->next_cursor.empty());
}

TEST_P(StoreTest, ConversationWithoutMessages) {
  auto c = NewConv();
  auto got = store_->GetConversation(c.id);
  ASSERT_OK(got);
  EXPECT_EQ(got->message_count, 0);
  EXPECT_TRUE(got->messages.empty());
  EXPECT_EQ(got->conversation.id, c.id);
}

TEST_P(StoreTest, UnknownUserIsCreatedOnCreateConversation) {
  EXPECT_CODE(store_->GetUser("new@x.io"), Code::kNotFound);
  NewConv("new@x.io");
  auto u = store_->GetUser("new@x.io");
  ASSERT_OK(u);
  EXPECT_EQ(u->key, "new@x.io");
  EXPECT_TRUE(u->active);
}

TEST_P(StoreTest, UsersAndTeamsUpsert) {
  TeamInput t;
  t.key = "netops";
  t.name = "Network Operations";
  t.monthly_budget_nanousd = 500 * kNanoUsdPerUsd;
  ASSERT_OK(store_->UpsertTeam(t));
  UserInput u;
  u.key = "alice@corp";
  u.email = "alice@corp.com";
  u.name = "Alice";
  u.team_key = "netops";
  u.role = "admin";
  auto r = store_->UpsertUser(u);
  ASSERT_OK(r);
  EXPECT_EQ(r->team_key, "netops");
  // A partial update keeps the other fields.
  UserInput u2;
  u2.key = "alice@corp";
  u2.active = false;
  auto r2 = store_->UpsertUser(u2);
  ASSERT_OK(r2);
  EXPECT_EQ(r2->email, "alice@corp.com");
  EXPECT_EQ(r2->team_key, "netops");
  EXPECT_FALSE(r2->active);
  EXPECT_EQ(r2->created_at, r->created_at);
  EXPECT_GT(r2->updated_at, r->updated_at);
  // Clearing the team.
  UserInput u3;
  u3.key = "alice@corp";
  u3.team_key = "";
  EXPECT_EQ(store_->UpsertUser(u3)->team_key, "");

  TeamInput t2;
  t2.key = "netops";
  t2.name = "NetOps";
  auto team = store_->UpsertTeam(t2);
  ASSERT_OK(team);
  EXPECT_EQ(team->name, "NetOps");
  EXPECT_EQ(team->monthly_budget_nanousd, 500 * kNanoUsdPerUsd);
  EXPECT_CODE(store_->GetTeam("nope"), Code::kNotFound);

  UserInput bad;
  bad.key = "bob";
  bad.team_key = "no-such-team";
  EXPECT_CODE(store_->UpsertUser(bad), Code::kNotFound);
  EXPECT_CODE(store_->GetUser("bob"), Code::kNotFound);
}

TEST_P(StoreTest, RequestIdMakesRetriesIdempotent) {
  auto c = NewConv();
  NewMessage m;
  m.role = Role::kAssistant;
  m.content = "answer";
  m.tokens_output = 10;
  m.cost_nanousd = 7;
  m.request_id = "req-1";
  auto first = store_->AddMessage(c.id, m);
  ASSERT_OK(first);
  auto again = store_->AddMessage(c.id, m);
  ASSERT_OK(again);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(again->position, first->position);
  auto info = store_->GetConversationInfo(c.id);
  EXPECT_EQ(info->message_count, 1);
  EXPECT_EQ(info->tokens.output, 10);
  EXPECT_EQ(info->cost_nanousd, 7);

  // In a batch: the retried one returns the stored message, the new one is added.
  NewMessage n = m;
  n.request_id = "req-2";
  auto batch = store_->AddMessages(c.id, {m, n, n});
  ASSERT_OK(batch);
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ((*batch)[0].id, first->id);
  EXPECT_EQ((*batch)[1].id, (*batch)[2].id);
  EXPECT_EQ(store_->GetConversationInfo(c.id)->message_count, 2);
  EXPECT_EQ(store_->GetConversationInfo(c.id)->cost_nanousd, 14);

  // The same request_id in another conversation is a conflict, and writes nothing.
  auto other = NewConv("someone", "other");
  EXPECT_CODE(store_->AddMessage(other.id, m), Code::kConflict);
  EXPECT_EQ(store_->GetConversationInfo(other.id)->message_count, 0);
}

TEST_P(StoreTest, BatchIsAllOrNothing) {
  auto c = NewConv();
  std::vector<NewMessage> batch(1000);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].role = i % 2 ? Role::kAssistant : Role::kUser;
    batch[i].content = "m" + std::to_string(i);
    batch[i].tokens_input = 1;
    batch[i].cost_nanousd = 3;
  }
  auto ok = store_->AddMessages(c.id, batch);
  ASSERT_OK(ok);
  EXPECT_EQ(ok->size(), 1000u);
  EXPECT_EQ(ok->back().position, 999);
  auto info = store_->GetConversationInfo(c.id);
  EXPECT_EQ(info->message_count, 1000);
  EXPECT_EQ(info->tokens.input, 1000);
  EXPECT_EQ(info->cost_nanousd, 3000);

  batch[500].tokens_input = -1;
  EXPECT_CODE(store_->AddMessages(c.id, batch), Code::kInvalidArgument);
  batch[500].tokens_input = 1;
  // A failure inside the transaction (request_id conflict on the last message) rolls back the whole batch.
  auto other = NewConv("u2", "t2");
  NewMessage tagged;
  tagged.content = "x";
  tagged.request_id = "taken";
  ASSERT_OK(store_->AddMessage(other.id, tagged));
  batch.back().request_id = "taken";
  EXPECT_CODE(store_->AddMessages(c.id, batch), Code::kConflict);
  EXPECT_EQ(store_->GetConversationInfo(c.id)->message_count, 1000);
  EXPECT_EQ(store_->GetConversation(c.id)->messages.size(), 1000u);
}

// A tool call recorded as pending finishes once; a tool message links to it by the provider's id or convstore's.
TEST_P(StoreTest, ToolCallsFinishAndToolResultsNameTheirCall) {
  auto c = NewConv();
  auto other = NewConv();
  auto call_msg = Add(c.id, Role::kAssistant, "looking it up");
  auto call = store_->AddToolCall(call_msg.id, {.tool_name = "show_bgp", .input_json = R"({"device":"r1"})",
                                                .status = ToolStatus::kPending, .call_id = "call_abc"});
  ASSERT_OK(call);
  EXPECT_EQ(call->call_id, "call_abc");
  EXPECT_EQ(call->updated_at, call->created_at);
  // The provider's id is unique within a conversation, not across them.
  EXPECT_CODE(store_->AddToolCall(call_msg.id, {.tool_name = "again", .call_id = "call_abc"}), Code::kConflict);
  auto other_msg = Add(other.id, Role::kAssistant, "elsewhere");
  ASSERT_OK(store_->AddToolCall(other_msg.id, {.tool_name = "t", .call_id = "call_abc"}));

  auto done = store_->UpdateToolCall(call->id, {.status = ToolStatus::kSuccess, .output_json = R"({"state": "up"})",
                                                .duration_us = 5'000});
  ASSERT_OK(done);
  EXPECT_EQ(done->status, ToolStatus::kSuccess);
  EXPECT_EQ(done->output_json, R"({"state":"up"})");
  EXPECT_EQ(done->duration_us, 5'000);
  EXPECT_GT(done->updated_at, done->created_at);
  // A retry of the same update answers with the call; any other change of a finished call is a conflict.
  auto retry = store_->UpdateToolCall(call->id, {.status = ToolStatus::kSuccess, .output_json = R"({"state":"up"})",
                                                 .duration_us = 5'000});
  ASSERT_OK(retry);
  EXPECT_EQ(retry->updated_at, done->updated_at);
  EXPECT_CODE(store_->UpdateToolCall(call->id, {.status = ToolStatus::kError, .error_message = "late"}),
              Code::kConflict);
  EXPECT_CODE(store_->UpdateToolCall(call->id, {.status = ToolStatus::kPending}), Code::kInvalidArgument);
  EXPECT_CODE(store_->UpdateToolCall("00000000-0000-7000-8000-000000000000", {}), Code::kNotFound);
  auto listed = store_->ListToolCalls(call_msg.id);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].status, ToolStatus::kSuccess);
  EXPECT_EQ((*listed)[0].call_id, "call_abc");

  // Tool results name their call by the provider's id or by convstore's; a call of another conversation or an
  // unknown id is kNotFound; only tool messages carry a link. Nothing is written by a refused message.
  auto by_provider = store_->AddMessage(c.id, {.role = Role::kTool, .content = "up", .tool_call_id = "call_abc"});
  ASSERT_OK(by_provider);
  EXPECT_EQ(by_provider->tool_call_id, "call_abc");
  ASSERT_OK(store_->AddMessage(c.id, {.role = Role::kTool, .content = "up", .tool_call_id = call->id}));
  auto conv_before = store_->GetConversationInfo(c.id);
  EXPECT_CODE(store_->AddMessage(c.id, {.role = Role::kTool, .content = "x", .tool_call_id = "call_nope"}),
              Code::kNotFound);
  auto foreign = store_->ListToolCalls(other_msg.id);
  ASSERT_OK(foreign);
  EXPECT_CODE(store_->AddMessage(c.id, {.role = Role::kTool, .content = "x", .tool_call_id = (*foreign)[0].id}),
              Code::kNotFound);
  EXPECT_CODE(store_->AddMessage(c.id, {.role = Role::kUser, .content = "x", .tool_call_id = "call_abc"}),
              Code::kInvalidArgument);
  EXPECT_EQ(store_->GetConversationInfo(c.id)->message_count, conv_before->message_count);
  auto read = store_->GetConversation(c.id);
  ASSERT_OK(read);
  EXPECT_EQ(read->messages.back().tool_call_id, call->id);
}

TEST(RoleTest, DeveloperIsStoredAsSystem) {
  EXPECT_EQ(ParseRole("developer"), Role::kSystem);
  EXPECT_EQ(ParseRole("system"), Role::kSystem);
  EXPECT_STREQ(RoleName(*ParseRole("developer")), "system");
  EXPECT_FALSE(ParseRole("Developer"));
  EXPECT_FALSE(ParseRole("function"));
}

TEST_P(StoreTest, GetContextFitsNewestMessagesOldestFirst) {
  auto c = NewConv();
  Add(c.id, Role::kSystem, "be brief", 5);              // 5
  Add(c.id, Role::kUser, "q1", 100);                    // 100
  Add(c.id, Role::kAssistant, "a1", 1000, 50);          // 50 (output counts for assistant)
  Add(c.id, Role::kUser, std::string(40, 'x'));         // estimated ceil(40/4) = 10
  Add(c.id, Role::kAssistant, "a2", 2000, 30);          // 30

  // The system message is kept and counted first (5); then newest first 30 + 10 + 50 = 90 fits in 95.
  auto ctx = store_->GetContext(c.id, 95);
  ASSERT_OK(ctx);
  ASSERT_EQ(ctx->size(), 4u);
  EXPECT_EQ((*ctx)[0].content, "be brief");
  EXPECT_EQ((*ctx)[1].content, "a1");
  EXPECT_EQ((*ctx)[3].content, "a2");
  EXPECT_EQ(store_->GetContext(c.id, 94)->size(), 3u);
  EXPECT_EQ(store_->GetContext(c.id, 0)->size(), 1u);  // the system message alone, even over the budget
  EXPECT_EQ(store_->GetContext(c.id, 1'000'000)->size(), 5u);
  auto no_system = store_->GetContext(c.id, {.max_tokens = 90, .include_system = false});
  ASSERT_OK(no_system);
  EXPECT_EQ(no_system->size(), 3u);
  EXPECT_CODE(store_->GetContext(c.id, -1), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetContext("00000000-0000-7000-8000-000000000000", 10), Code::kNotFound);
  auto empty = NewConv("x", "empty");
  EXPECT_EQ(store_->GetContext(empty.id, 10)->size(), 0u);
}

// The trim_messages behaviour: the system prompt first, a tool call's results kept with the message that made the
// call, one oversized tool output stopping (default) or skipped, and the estimate counting.
TEST_P(StoreTest, GetContextKeepsTheSystemPromptAndToolCallsWithTheirResults) {
  auto c = store_->CreateConversation({.user_key = "u", .system_prompt = std::string(40, 's')});  // 10 tokens
  ASSERT_OK(c);
  const std::string id = c->id;
  Add(id, Role::kUser, "q1", 7);                           // 7
  Add(id, Role::kAssistant, "calling a tool", 100, 4);     // 4  \ one unit: the call and its results
  Add(id, Role::kTool, std::string(80, 'o'));              // 20 /
  Add(id, Role::kTool, std::string(8, 'o'));               // 2 /
  Add(id, Role::kAssistant, "a2", 100, 3);                 // 3
  Add(id, Role::kUser, std::string(4000, 'x'));            // 1000: one huge message
  Add(id, Role::kAssistant, "a3", 100, 5);                 // 5

  auto ctx = store_->GetContext(id, 100);
  ASSERT_OK(ctx);
  ASSERT_EQ(ctx->size(), 2u);  // the prompt, then "a3"; the huge message stops the walk
  EXPECT_EQ((*ctx)[0].role, Role::kSystem);
  EXPECT_EQ((*ctx)[0].id, "");
  EXPECT_EQ((*ctx)[0].position, -1);
  EXPECT_EQ((*ctx)[0].content, std::string(40, 's'));
  EXPECT_EQ((*ctx)[1].content, "a3");

  auto skip = store_->GetContext(id, {.max_tokens = 10 + 5 + 3 + 26 + 7, .overflow = ContextOverflow::kSkip});
  ASSERT_OK(skip);
  std::vector<std::string> got;
  for (const Message& m : *skip) got.push_back(m.content.substr(0, 14));
  EXPECT_EQ(got, (std::vector<std::string>{std::string(14, 's'), "q1", "calling a tool", std::string(14, 'o'),
                                           std::string(8, 'o'), "a2", "a3"}));
  // 25 tokens left after the newer messages: the tool-call unit (26) goes whole; the older "q1" (7) still fits.
  skip = store_->GetContext(id, {.max_tokens = 10 + 5 + 3 + 25, .overflow = ContextOverflow::kSkip});
  ASSERT_OK(skip);
  got.clear();
  for (const Message& m : *skip) got.push_back(m.content.substr(0, 14));
  EXPECT_EQ(got, (std::vector<std::string>{std::string(14, 's'), "q1", "a2", "a3"}));
  for (const Message& m : *skip) EXPECT_NE(m.role, Role::kTool);

  // Estimate counting ignores stored counts: "q1" is ceil(2/4) = 1 token, not 7.
  auto est = store_->GetContext(id, {.max_tokens = 10 + 1 + 1 + 1 + 1,
                                     .overflow = ContextOverflow::kSkip,
                                     .counting = ContextCounting::kEstimate});
  ASSERT_OK(est);
  got.clear();
  for (const Message& m : *est) got.push_back(m.content.substr(0, 14));
  EXPECT_EQ(got, (std::vector<std::string>{std::string(14, 's'), "q1", "a2", "a3"}));

  auto last = store_->GetLastMessages(id, 3);
  ASSERT_OK(last);
  ASSERT_EQ(last->size(), 3u);
  EXPECT_EQ((*last)[0].content, "a2");
  EXPECT_EQ((*last)[2].content, "a3");
  EXPECT_EQ(store_->GetLastMessages(id, 1000)->size(), 7u);
  EXPECT_CODE(store_->GetLastMessages(id, 0), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetLastMessages("00000000-0000-7000-8000-000000000000", 3), Code::kNotFound);
}

TEST_P(StoreTest, ListPaginatesNewestFirstWithCursor) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(NewConv("pager", "c" + std::to_string(i)).id);
  NewConv("someone-else", "not mine");
  // Touch conversation 3: it becomes the most recently updated.
  Add(ids[3], Role::kUser, "bump");
  ASSERT_OK(store_->SetArchived(ids[10], true));

  std::vector<std::string> seen;
  ListConversationsOptions q;
  q.user_key = "pager";
  q.limit = 10;
  int pages = 0;
  for (;;) {
    auto page = store_->ListConversations(q);
    ASSERT_OK(page);
    ++pages;
    for (auto& c : page->items) seen.push_back(c.id);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 24u);  // archived one excluded
  EXPECT_EQ(seen[0], ids[3]);
  EXPECT_EQ(seen[1], ids[24]);
  EXPECT_EQ(seen.back(), ids[0]);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), ids[10]), 0);

  q.cursor.clear();
  q.include_archived = true;
  q.limit = 100;
  auto all = store_->ListConversations(q);
  ASSERT_OK(all);
  EXPECT_EQ(all->items.size(), 25u);
  EXPECT_TRUE(all->items[15].archived);  // 24..11 come after ids[3] (14 items), then ids[10]
  EXPECT_EQ(all->items[15].id, ids[10]);

  // include_archived pagination merges both streams correctly across pages.
  q.limit = 7;
  std::vector<std::string> merged;
  for (;;) {
    auto page = store_->ListConversations(q);
    ASSERT_OK(page);
    for (auto& c : page->items) merged.push_back(c.id);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  ASSERT_EQ(merged.size(), 25u);
  for (size_t i = 0; i < merged.size(); ++i) EXPECT_EQ(merged[i], all->items[i].id);

  q.cursor = "garbage";
  EXPECT_CODE(store_->ListConversations(q), Code::kInvalidArgument);
  q.cursor.clear();
  q.user_key = "nobody";  // an unknown user has no conversations: an empty page, not an error
  auto none = store_->ListConversations(q);
  ASSERT_OK(none);
  EXPECT_TRUE(none->items.empty());
  EXPECT_TRUE(none->next_cursor.empty());
}

TEST_P(StoreTest, ListPaginatesConversationsWithEqualTimestamps) {
  // Imports often carry identical timestamps; the keyset (updated_at, id) must still visit each exactly once.
  std::set<std::string> made, seen;
  for (int i = 0; i < 13; ++i) {
    NewConversation nc;
    nc.user_key = "same-time";
    nc.created_at = 1'700'000'000'000'000;
    made.insert(store_->CreateConversation(nc)->id);
  }
  ListConversationsOptions q;
  q.user_key = "same-time";
  q.limit = 4;
  for (;;) {
    auto page = store_->ListConversations(q);
    ASSERT_OK(page);
    for (auto& c : page->items) EXPECT_TRUE(seen.insert(c.id).second) << "seen twice: " << c.id;
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  EXPECT_EQ(seen, made);
}

TEST_P(StoreTest, UpdateArchiveDelete) {
  auto c = NewConv();
  ConversationUpdate up;
  up.title = "renamed";
  up.metadata_json = R"({"team":"netops","tags":["a","b"]})";
  auto r = store_->UpdateConversation(c.id, up);
  ASSERT_OK(r);
  EXPECT_EQ(r->title, "renamed");
  EXPECT_EQ(r->metadata_json, R"({"tags":["a","b"],"team":"netops"})");
  EXPECT_GT(r->updated_at, c.updated_at);

  // An empty patch changes nothing, not even updated_at.
  auto same = store_->UpdateConversation(c.id, ConversationUpdate{});
  ASSERT_OK(same);
  EXPECT_EQ(same->updated_at, r->updated_at);
  EXPECT_CODE(store_->UpdateConversation("01890000-0000-7000-8000-000000000000", ConversationUpdate{}),
              Code::kNotFound);

  ASSERT_OK(store_->SetArchived(c.id, true));
  EXPECT_TRUE(store_->GetConversationInfo(c.id)->archived);
  ASSERT_OK(store_->SetArchived(c.id, false));
  EXPECT_FALSE(store_->GetConversationInfo(c.id)->archived);

  auto m = Add(c.id, Role::kAssistant, "calling a tool");
  NewToolCall tc;
  tc.tool_name = "show_bgp";
  tc.input_json = R"({"device":"r1"})";
  tc.output_json = R"(["ok"])";
  tc.duration_us = 1500;
  ASSERT_OK(store_->AddToolCall(m.id, tc));
  ASSERT_OK(store_->DeleteConversation(c.id));
  EXPECT_CODE(store_->GetConversation(c.id), Code::kNotFound);
  EXPECT_CODE(store_->DeleteConversation(c.id), Code::kNotFound);
  EXPECT_CODE(store_->ListToolCalls(m.id), Code::kNotFound);
  if (GetParam()) {
    EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM messages"), 0);
    EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM tool_calls"), 0);
  }
}

TEST_P(StoreTest, ToolCalls) {
  auto c = NewConv();
  auto m = Add(c.id, Role::kAssistant, "let me check");
  NewToolCall a;
  a.tool_name = "ping";
  a.input_json = R"({"host": "10.0.0.1"})";
  a.output_json = R"({"loss": 0})";
  a.duration_us = 2000;
  NewToolCall b;
  b.tool_name = "traceroute";
  b.status = ToolStatus::kError;
  b.error_message = "timeout";
  ASSERT_OK(store_->AddToolCall(m.id, a));
  ASSERT_OK(store_->AddToolCall(m.id, b));
  auto calls = store_->ListToolCalls(m.id);
  ASSERT_OK(calls);
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[0].tool_name, "ping");
  EXPECT_EQ((*calls)[0].input_json, R"({"host":"10.0.0.1"})");
  EXPECT_EQ((*calls)[0].duration_us, 2000);
  EXPECT_EQ((*calls)[1].status, ToolStatus::kError);
  EXPECT_EQ((*calls)[1].output_json, "");
  EXPECT_EQ((*calls)[1].error_message, "timeout");
  NewToolCall null_output;
  null_output.tool_name = std::string(300, 'n');  // names may be longer than keys (up to 1 KiB)
  null_output.output_json = "null";
  auto n = store_->AddToolCall(m.id, null_output);
  ASSERT_OK(n);
  EXPECT_EQ(n->output_json, "");  // JSON null is "no output"
  auto m2 = Add(c.id, Role::kUser, "no tools here");
  EXPECT_EQ(store_->ListToolCalls(m2.id)->size(), 0u);
}

TEST_P(StoreTest, ExplicitCreatedAtIsKeptAndDrivesUpdatedAt) {
  NewConversation nc;
  nc.user_key = "importer";
  nc.created_at = 1'600'000'000'000'000;
  auto c = store_->CreateConversation(nc);
  ASSERT_OK(c);
  EXPECT_EQ(c->created_at, 1'600'000'000'000'000);
  NewMessage m;
  m.content = "old";
  m.created_at = 1'600'000'100'000'000;
  ASSERT_OK(store_->AddMessage(c->id, m));
  auto info = store_->GetConversationInfo(c->id);
  EXPECT_EQ(info->updated_at, 1'600'000'100'000'000);
  EXPECT_EQ(store_->GetConversation(c->id)->messages[0].created_at, 1'600'000'100'000'000);
}

TEST_P(StoreTest, CallsOnAClosedStoreFail) {
  auto c = NewConv();
  ASSERT_OK(store_->Close());
  EXPECT_TRUE(store_->closed());
  ASSERT_OK(store_->Close());  // second close: no-op
  EXPECT_CODE(store_->GetConversation(c.id), Code::kClosed);
  EXPECT_CODE(store_->AddMessage(c.id, NewMessage{}), Code::kClosed);
  EXPECT_CODE(store_->CreateConversation(NewConversation{.user_key = "u"}), Code::kClosed);
  ListConversationsOptions q;
  q.user_key = "engineer@company.com";
  EXPECT_CODE(store_->ListConversations(q), Code::kClosed);
  EXPECT_CODE(store_->UpsertUser(UserInput{.key = "k"}), Code::kClosed);
  EXPECT_CODE(store_->DeleteConversation(c.id), Code::kClosed);
}

TEST(StoreFileTest, DataSurvivesReopenAndFilesAreOwnerOnly) {
  TempDb db;
  std::string id;
  {
    auto s = OpenOrDie(db.path());
    NewConversation nc;
    nc.user_key = "u";
    id = s->CreateConversation(nc)->id;
    NewMessage m;
    m.content = "persisted";
    ASSERT_OK(s->AddMessage(id, m));
    struct stat sb;
    ASSERT_EQ(::stat(db.path().c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((db.path() + "-wal").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((db.path() + "-shm").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0600u);
  }
  auto s = OpenOrDie(db.path());
  auto got = s->GetConversation(id);
  ASSERT_OK(got);
  EXPECT_EQ(got->messages.at(0).content, "persisted");
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
  EXPECT_EQ(s->schema_version(), testing::kSchemaVersion);
}

TEST(StoreFileTest, CreateIfMissingFalseRefusesMissingFile) {
  TempDb db;
  Options o;
  o.create_if_missing = false;
  EXPECT_CODE(ConversationStore::Open(db.path(), o), Code::kNotFound);
}

TEST(StoreFileTest, FullDurabilityWorks) {
  TempDb db;
  Options o;
  o.durability = Durability::kFull;
  auto s = OpenOrDie(db.path(), o);
  NewConversation nc;
  nc.user_key = "u";
  auto c = s->CreateConversation(nc);
  ASSERT_OK(c);
  NewMessage m;
  m.content = "x";
  ASSERT_OK(s->AddMessage(c->id, m));
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM messages"), 1);
}

TEST(LoggingTest, LinesGoToTheHandlerUntilItIsCleared) {
  std::vector<std::pair<LogLevel, std::string>> lines;
  SetLogHandler([&](LogLevel level, std::string_view message) { lines.emplace_back(level, std::string(message)); });
  Options options;
  options.log_level = LogLevel::kInfo;
  {
    auto store = ConversationStore::Open(":memory:", options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
  }
  SetLogHandler(nullptr);
  bool opened = false;
  for (const auto& [level, text] : lines)
    opened |= level == LogLevel::kInfo && text.find("opened ':memory:'") != std::string::npos;
  EXPECT_TRUE(opened) << lines.size() << " lines";
  const size_t seen = lines.size();
  {
    auto store = ConversationStore::Open(":memory:", options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
  }
  EXPECT_EQ(lines.size(), seen);  // cleared: standard error again
  // A handler that throws does not fail the call that logged.
  SetLogHandler([](LogLevel, std::string_view) { throw std::runtime_error("handler failed"); });
  {
    auto store = ConversationStore::Open(":memory:", options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
  }
  // A handler that calls convstore (which logs again on this thread) does not deadlock: the nested lines go to
  // standard error.
  int calls = 0;
  SetLogHandler([&](LogLevel, std::string_view) {
    if (calls++ == 0) {
      EXPECT_TRUE(ConversationStore::Open(":memory:", options).ok());
    }
  });
  {
    auto store = ConversationStore::Open(":memory:", options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
  }
  SetLogHandler(nullptr);
  EXPECT_GE(calls, 1);
  options.log_level = LogLevel::kWarn;
  EXPECT_TRUE(ConversationStore::Open(":memory:", options).ok());  // the process-wide level back to the default
}

TEST(VersionTest, ReportsVersion) {
  EXPECT_STREQ(Version(), CONVSTORE_VERSION_STRING);
  EXPECT_EQ(AbiVersion(), CONVSTORE_ABI_VERSION);
}

}  // namespace
}  // namespace convstore
