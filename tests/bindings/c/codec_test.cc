// The C ABI's JSON codec: field names, types, unknown fields, money and time forms, output shapes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "json_codec.h"

namespace convstore {
namespace {

using nlohmann::json;

TEST(CodecTest, DecodesAFullMessage) {
  auto m = capi::DecodeNewMessage(R"({"role":"assistant","content":"hi","model":"m","model_version":"v",
    "tokens_input":1,"tokens_output":2,"tokens_cached_input":3,"tokens_reasoning":4,"cost_usd":"0.015",
    "latency_us":99,"metadata":{"k":[1]},"request_id":"r","created_at":"2026-02-11T09:00:00Z"})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->role, Role::kAssistant);
  EXPECT_EQ(m->cost_nanousd, 15'000'000);
  EXPECT_EQ(m->tokens_reasoning, 4);
  EXPECT_EQ(m->metadata_json, R"({"k":[1]})");
  EXPECT_EQ(m->created_at, 1770800400000000);
}

TEST(CodecTest, MoneyForms) {
  EXPECT_EQ(capi::DecodeNewMessage(R"({"role":"user","content":"","cost_usd":0.015})")->cost_nanousd, 15'000'000);
  EXPECT_EQ(capi::DecodeNewMessage(R"({"role":"user","content":"","cost_usd":2})")->cost_nanousd, 2'000'000'000);
  EXPECT_EQ(capi::DecodeNewMessage(R"({"role":"user","content":"","cost_nanousd":7})")->cost_nanousd, 7);
  for (const char* bad : {R"({"role":"user","content":"","cost_usd":"NaN"})",
                          R"({"role":"user","content":"","cost_usd":"1e3"})",
                          R"({"role":"user","content":"","cost_usd":true})",
                          R"({"role":"user","content":"","cost_usd":"1","cost_nanousd":1})",
                          R"({"role":"user","content":"","cost_nanousd":1.5})"})
    EXPECT_EQ(capi::DecodeNewMessage(bad).status().code(), Code::kInvalidArgument) << bad;
}

TEST(CodecTest, RefusesUnknownFieldsWrongTypesAndMissingRequired) {
  for (const char* bad : {R"({"role":"user","content":"x","contnet":"typo"})", R"({"role":"user"})",
                          R"({"content":"x"})", R"({"role":"robot","content":"x"})",
                          R"({"role":"user","content":5})", R"({"role":"user","content":"x","tokens_input":"5"})",
                          R"({"role":"user","content":"x","tokens_input":18446744073709551615})",
                          R"({"role":"user","content":"x","metadata":[1]})",
                          R"({"role":"user","content":"x","created_at":"yesterday"})", R"([1])", R"(nul)"}) {
    auto r = capi::DecodeNewMessage(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_FALSE(r.status().message().empty());
  }
  // A batch error names the element and field, once.
  auto batch = capi::DecodeNewMessages(R"([{"role":"user","content":"a"},{"role":"x","content":"b"}])");
  EXPECT_EQ(batch.status().message(), "'messages[1].role' is 'x', not one of user, assistant, system, developer, tool");
  auto missing = capi::DecodeNewMessages(R"([{"role":"user"}])");
  EXPECT_EQ(missing.status().message(), "'messages[0].content' is required");
  std::optional<int64_t> budget;
  EXPECT_EQ(capi::DecodeOptions(R"({"durability":"sometimes"})", budget).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(capi::DecodeOptions(R"({"reader_pool":3})", budget).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(capi::DecodeOptions(R"({"durability":"full","log_level":"off"})", budget)->durability, Durability::kFull);
  EXPECT_FALSE(budget.has_value());
  EXPECT_EQ(capi::DecodeOptions(R"({"vector_memory_budget_bytes":-1})", budget).status().code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(capi::DecodeOptions(R"({"vector_memory_budget_bytes":1024})", budget).ok());
  EXPECT_EQ(budget, 1024);
}

TEST(CodecTest, EncodesRecordsWithIsoTimesAndExactMoney) {
  Message m;
  m.id = "id";
  m.conversation_id = "c";
  m.role = Role::kTool;
  m.content = "line\n\"quoted\"\x01";
  m.cost_nanousd = 15'000'000;
  m.metadata_json = R"({"a":1})";
  m.created_at = 1770800400000000;
  auto j = json::parse(capi::EncodeMessage(m));
  EXPECT_EQ(j["role"], "tool");
  EXPECT_EQ(j["content"], "line\n\"quoted\"\x01");
  EXPECT_EQ(j["cost_usd"], "0.015");
  EXPECT_EQ(j["cost_nanousd"], 15'000'000);
  EXPECT_TRUE(j["tokens_input"].is_null());
  EXPECT_EQ(j["metadata"]["a"], 1);
  EXPECT_TRUE(j["request_id"].is_null());
  EXPECT_EQ(j["created_at"], "2026-02-11T09:00:00.000000Z");
  EXPECT_EQ(j["created_at_us"], 1770800400000000);

  ConversationPage p;
  p.items.emplace_back().id = "x";
  p.items.back().temperature = 0.7;
  auto pj = json::parse(capi::EncodeConversationPage(p));
  EXPECT_TRUE(pj["next_cursor"].is_null());
  EXPECT_EQ(pj["items"][0]["temperature"], 0.7);
  EXPECT_EQ(pj["items"][0]["total_cost_usd"], "0");
}

}  // namespace
}  // namespace convstore
