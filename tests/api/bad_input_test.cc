// Bad input through the C++ API: each gets its error code and a message, and nothing is written.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(db_.path());
    NewConversation nc;
    nc.user_key = "u@x";
    conv_ = store_->CreateConversation(nc)->id;
    NewMessage m;
    m.content = "seed";
    msg_ = store_->AddMessage(conv_, m)->id;
  }
  // Row counts of every table: compared before and after each bad call.
  std::string Snapshot() const {
    std::string s;
    for (const char* t : {"users", "teams", "conversations", "messages", "tool_calls"})
      s += std::to_string(QueryInt(db_.path(), std::string("SELECT count(*) FROM ") + t)) + ",";
    s += std::to_string(QueryInt(db_.path(), std::string("SELECT sum(message_count + tokens_input + cost_nanousd) FROM ") + testing::kConversationsAsRead));
    return s;
  }
  void ExpectMessageRefused(const NewMessage& m, Code code) {
    std::string before = Snapshot();
    auto r = store_->AddMessage(conv_, m);
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_FALSE(r.status().message().empty());
    auto rb = store_->AddMessages(conv_, {NewMessage{.content = "fine"}, m});
    EXPECT_EQ(rb.status().code(), code) << rb.status().ToString();
    EXPECT_EQ(Snapshot(), before);
  }
  NewMessage Valid() const {
    NewMessage m;
    m.role = Role::kAssistant;
    m.content = "ok";
    return m;
  }
  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
  std::string conv_, msg_;
};

TEST_F(BadInputTest, UnknownRole) {
  auto m = Valid();
  m.role = static_cast<Role>(42);
  ExpectMessageRefused(m, Code::kInvalidArgument);
}

TEST_F(BadInputTest, NegativeAndOverflowingNumbers) {
  auto m = Valid();
  m.tokens_input = -1;
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.tokens_output = std::numeric_limits<int64_t>::max();
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.cost_nanousd = -5;
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.latency_us = -1;
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.cost_usd = -0.01;
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.cost_usd = 1e300;
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.created_at = -1;
  ExpectMessageRefused(m, Code::kInvalidArgument);
}

// Integers that are plausibly seconds, milliseconds or nanoseconds are refused by every entry point taking a time,
// with a message naming the unit and the microsecond value meant; the bounds themselves are accepted.
TEST_F(BadInputTest, TimestampsInTheWrongUnitAreRefused) {
  struct Case {
    int64_t value;
    const char* says;
  };
  for (Case c : {Case{1767225600, "looks like seconds"}, Case{0, "looks like seconds"},
                 Case{1767225600000, "looks like milliseconds"}, Case{1767225600000000000, "looks like nanoseconds"},
                 Case{limits::kMinTimestampUs - 1, "looks like milliseconds"}, Case{-1, "1973-03-03"}}) {
    auto m = Valid();
    m.created_at = c.value;
    ExpectMessageRefused(m, Code::kInvalidArgument);
    auto r = store_->AddMessage(conv_, m);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
    std::string before = Snapshot();
    EXPECT_CODE(store_->CreateConversation({.user_key = "t@x", .created_at = c.value}), Code::kInvalidArgument);
    EXPECT_CODE(store_->AddToolCall(msg_, {.tool_name = "t", .created_at = c.value}), Code::kInvalidArgument);
    EXPECT_CODE(store_->RecordApiUsage({.user_key = "u@x", .model = "m", .recorded_at = c.value}),
                Code::kInvalidArgument);
    EXPECT_CODE(store_->GetCostSummary({.from = c.value}), Code::kInvalidArgument);
    EXPECT_CODE(store_->ResolvePrice("gpt-5", c.value), Code::kInvalidArgument);
    EXPECT_EQ(Snapshot(), before);
  }
  auto seconds = store_->AddMessage(conv_, {.content = "x", .created_at = 1767225600});
  EXPECT_NE(seconds.status().message().find("1767225600000000 µs (2026-01-01T00:00:00.000000Z)"), std::string::npos)
      << seconds.status().message();
  for (int64_t ok : {limits::kMinTimestampUs, int64_t{1767225600000000}, limits::kMaxTimestampUs})
    EXPECT_TRUE(store_->AddMessage(conv_, {.content = "x", .created_at = ok}).ok());
}

TEST_F(BadInputTest, NanAndInfinity) {
  for (double v : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    auto m = Valid();
    m.cost_usd = v;
    ExpectMessageRefused(m, Code::kInvalidArgument);
    std::string before = Snapshot();
    NewConversation nc;
    nc.user_key = "nan-user";
    nc.temperature = v;
    EXPECT_CODE(store_->CreateConversation(nc), Code::kInvalidArgument);
    EXPECT_EQ(Snapshot(), before);
  }
}

TEST_F(BadInputTest, BothCostsGiven) {
  auto m = Valid();
  m.cost_usd = 0.1;
  m.cost_nanousd = 100;
  ExpectMessageRefused(m, Code::kInvalidArgument);
}

TEST_F(BadInputTest, InvalidJson) {
  for (const char* doc : {"{", "not json", "[1,2]", "\"str\"", "{\"a\":}", "{\"a\":1}x"}) {
    auto m = Valid();
    m.metadata_json = doc;
    ExpectMessageRefused(m, Code::kInvalidArgument);
    std::string before = Snapshot();
    NewConversation nc;
    nc.user_key = "json-user";
    nc.metadata_json = doc;
    EXPECT_CODE(store_->CreateConversation(nc), Code::kInvalidArgument);
    ConversationUpdate up;
    up.metadata_json = doc;
    EXPECT_CODE(store_->UpdateConversation(conv_, up), Code::kInvalidArgument);
    NewToolCall tc;
    tc.tool_name = "t";
    tc.input_json = std::string(doc) == "[1,2]" || std::string(doc) == "\"str\"" ? "{" : doc;
    EXPECT_CODE(store_->AddToolCall(msg_, tc), Code::kInvalidArgument);
    EXPECT_EQ(Snapshot(), before);
  }
}

TEST_F(BadInputTest, DeeplyNestedJsonIsRefused) {
  auto m = Valid();
  m.metadata_json = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ExpectMessageRefused(m, Code::kTooLarge);
}

TEST_F(BadInputTest, UnknownIds) {
  std::string before = Snapshot();
  const std::string ghost = "01890000-0000-7000-8000-000000000000";
  EXPECT_CODE(store_->AddMessage(ghost, Valid()), Code::kNotFound);
  EXPECT_CODE(store_->AddMessages(ghost, {Valid()}), Code::kNotFound);
  EXPECT_CODE(store_->GetConversation(ghost), Code::kNotFound);
  EXPECT_CODE(store_->GetConversationInfo(ghost), Code::kNotFound);
  EXPECT_CODE(store_->UpdateConversation(ghost, ConversationUpdate{.title = "x"}), Code::kNotFound);
  EXPECT_CODE(store_->SetArchived(ghost, true), Code::kNotFound);
  EXPECT_CODE(store_->DeleteConversation(ghost), Code::kNotFound);
  EXPECT_CODE(store_->AddToolCall(ghost, NewToolCall{.tool_name = "t"}), Code::kNotFound);
  EXPECT_CODE(store_->ListToolCalls(ghost), Code::kNotFound);
  EXPECT_CODE(store_->GetUser("ghost"), Code::kNotFound);
  auto listed = store_->ListConversations(ListConversationsOptions{.user_key = "ghost"});  // a list: empty, no error
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->items.empty());
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(BadInputTest, EmptyIds) {
  std::string before = Snapshot();
  EXPECT_CODE(store_->AddMessage("", Valid()), Code::kInvalidArgument);
  EXPECT_CODE(store_->GetConversation(""), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateConversation(NewConversation{}), Code::kInvalidArgument);
  EXPECT_CODE(store_->UpsertUser(UserInput{}), Code::kInvalidArgument);
  EXPECT_CODE(store_->UpsertTeam(TeamInput{}), Code::kInvalidArgument);
  EXPECT_CODE(store_->AddToolCall("", NewToolCall{.tool_name = "t"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->AddToolCall(msg_, NewToolCall{}), Code::kInvalidArgument);
  EXPECT_CODE(store_->ListConversations(ListConversationsOptions{}), Code::kInvalidArgument);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(BadInputTest, InvalidUtf8) {
  const std::string bad = "abc\xff\xfe";
  auto m = Valid();
  m.content = bad;
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.content = "\xed\xa0\x80";  // a UTF-16 surrogate encoded in UTF-8
  ExpectMessageRefused(m, Code::kInvalidArgument);
  m = Valid();
  m.content = "\xc0\xaf";  // overlong '/'
  ExpectMessageRefused(m, Code::kInvalidArgument);
  std::string before = Snapshot();
  EXPECT_CODE(store_->CreateConversation(NewConversation{.user_key = bad}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateConversation(NewConversation{.user_key = "u", .title = bad}), Code::kInvalidArgument);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(BadInputTest, ValuesBeyondLimits) {
  auto m = Valid();
  m.content.assign(limits::kMaxContentBytes + 1, 'a');
  ExpectMessageRefused(m, Code::kTooLarge);
  m = Valid();
  m.metadata_json = "{\"k\":\"" + std::string(limits::kMaxMetadataBytes, 'x') + "\"}";
  ExpectMessageRefused(m, Code::kTooLarge);
  std::string before = Snapshot();
  EXPECT_CODE(store_->CreateConversation(NewConversation{.user_key = std::string(limits::kMaxKeyBytes + 1, 'k')}),
              Code::kTooLarge);
  EXPECT_CODE(store_->CreateConversation(
                  NewConversation{.user_key = "u", .title = std::string(limits::kMaxTitleBytes + 1, 't')}),
              Code::kTooLarge);
  std::vector<NewMessage> huge(limits::kMaxBatchMessages + 1, Valid());
  EXPECT_CODE(store_->AddMessages(conv_, huge), Code::kTooLarge);
  EXPECT_CODE(store_->AddMessages(conv_, {}), Code::kInvalidArgument);
  EXPECT_CODE(store_->ListConversations(ListConversationsOptions{.user_key = "u@x", .limit = 0}),
              Code::kInvalidArgument);
  EXPECT_EQ(Snapshot(), before);
  // At the limit is accepted.
  m = Valid();
  m.content.assign(limits::kMaxContentBytes, 'a');
  ASSERT_OK(store_->AddMessage(conv_, m));
}

TEST_F(BadInputTest, CounterOverflowIsRefused) {
  auto m = Valid();
  m.cost_nanousd = limits::kMaxCostNanoUsd;
  // 9223 messages at the per-message maximum fill an int64; a batch of 9300 must be refused whole.
  std::vector<NewMessage> batch(9300, m);
  std::string before = Snapshot();
  EXPECT_CODE(store_->AddMessages(conv_, batch), Code::kTooLarge);
  EXPECT_EQ(Snapshot(), before);
}

TEST(BadOptionsTest, OpenRefusesBadOptionsAndPaths) {
  Options o;
  o.reader_pool_size = 0;
  EXPECT_CODE(ConversationStore::Open(ConversationStore::kInMemory, o), Code::kInvalidArgument);
  o = Options{};
  o.busy_timeout_ms = -1;
  EXPECT_CODE(ConversationStore::Open(ConversationStore::kInMemory, o), Code::kInvalidArgument);
  EXPECT_CODE(ConversationStore::Open(""), Code::kInvalidArgument);
  EXPECT_CODE(ConversationStore::Open("/nonexistent-dir/x/y.db"), Code::kIoError);
}

}  // namespace
}  // namespace convstore
