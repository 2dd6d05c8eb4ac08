// A conversation's counters as read include its newest messages, which no conversation row counts yet: every
// reader (get, get with messages, list and its order and cursor, metadata search, export) sees exact values, and
// adding a message leaves the conversation row alone until the fold.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "convstore/privacy.h"
#include "convstore/metadata.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::FakeClock;
using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

std::string StoredCount(const TempDb& db, const std::string& id) {
  return std::to_string(QueryInt(db.path(), "SELECT message_count FROM conversations WHERE uid = '" + id + "'"));
}

class PendingCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.env = &clock_;
    store_ = OpenOrDie(db_.path(), o);
  }
  std::string NewConv(const std::string& user, const std::string& title) {
    auto c = store_->CreateConversation({.user_key = user, .title = title, .metadata_json = R"({"kind":"chat"})"});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c->id;
  }
  void Add(const std::string& conv, int64_t tokens, int64_t cost) {
    ASSERT_OK(store_->AddMessage(conv, {.content = "m", .tokens_input = tokens, .tokens_output = 2 * tokens,
                                        .cost_nanousd = cost}));
  }

  testing::ClockEnv clock_{FakeClock()};
  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
};

TEST_F(PendingCountersTest, AddingAMessageLeavesTheRowUntilTheFoldAndEveryReaderCountsIt) {
  const std::string conv = NewConv("ana", "one");
  for (int i = 1; i <= 70; ++i) {
    Add(conv, i, 10 * i);
    const int64_t n = i, tokens = n * (n + 1) / 2;
    // The row is written only by the fold, every 32 messages.
    EXPECT_EQ(StoredCount(db_, conv), std::to_string(n / 32 * 32)) << "after " << n;
    auto info = store_->GetConversationInfo(conv);
    ASSERT_OK(info);
    EXPECT_EQ(info->message_count, n);
    EXPECT_EQ(info->tokens.input, tokens);
    EXPECT_EQ(info->tokens.output, 2 * tokens);
    EXPECT_EQ(info->cost_nanousd, 10 * tokens);
    auto full = store_->GetConversation(conv);
    ASSERT_OK(full);
    EXPECT_EQ(full->conversation.message_count, n);
    EXPECT_EQ(full->conversation.cost_nanousd, 10 * tokens);
    EXPECT_EQ(full->conversation.updated_at, full->messages.back().created_at);
    auto page = store_->ListConversations({.user_key = "ana"});
    ASSERT_OK(page);
    ASSERT_EQ(page->items.size(), 1u);
    EXPECT_EQ(page->items[0].message_count, n);
    EXPECT_EQ(page->items[0].tokens.input, tokens);
    EXPECT_EQ(page->items[0].updated_at, full->conversation.updated_at);
    auto found = store_->SearchMetadata({.target = MetadataTarget::kConversations, .contains_json = R"({"kind":"chat"})"});
    ASSERT_OK(found);
    ASSERT_EQ(found->conversations.size(), 1u);
    EXPECT_EQ(found->conversations[0].message_count, n);
    EXPECT_EQ(found->conversations[0].cost_nanousd, 10 * tokens);
  }
  // The next message continues the positions after the pending ones.
  auto full = store_->GetConversation(conv);
  ASSERT_OK(full);
  for (size_t i = 0; i < full->messages.size(); ++i) EXPECT_EQ(full->messages[i].position, static_cast<int64_t>(i));
}

TEST_F(PendingCountersTest, AListingOrdersByTheNewestMessageAcrossPagesAndArchive) {
  std::vector<std::string> convs;
  for (int i = 0; i < 8; ++i) convs.push_back(NewConv("bo", "c" + std::to_string(i)));
  ASSERT_OK(store_->SetArchived(convs[3], true));
  // Another user's conversations take messages past the cost watermark too: bo's listings never show them.
  std::vector<std::string> others;
  for (int i = 0; i < 3; ++i) others.push_back(NewConv("cy", "o" + std::to_string(i)));
  std::mt19937 rng(7);
  std::map<std::string, int64_t> count;
  for (int step = 0; step < 300; ++step) {
    const std::string& c = convs[rng() % convs.size()];
    Add(c, 1, 1);
    ++count[c];
    if (step % 3 == 0) Add(others[static_cast<size_t>(step) % others.size()], 1, 1);
    if (step % 23 != 0) continue;
    auto theirs = store_->ListConversations({.user_key = "cy", .limit = 50});
    ASSERT_OK(theirs);
    ASSERT_EQ(theirs->items.size(), others.size());
    for (bool archived : {false, true}) {
      for (int limit : {1, 3, 50}) {
        // Walk every page: most recently updated first, each conversation once, counters exact.
        std::vector<Conversation> walked;
        std::string cursor;
        do {
          auto page = store_->ListConversations(
              {.user_key = "bo", .limit = limit, .include_archived = archived, .cursor = cursor});
          ASSERT_OK(page);
          walked.insert(walked.end(), page->items.begin(), page->items.end());
          cursor = page->next_cursor;
        } while (!cursor.empty());
        ASSERT_EQ(walked.size(), archived ? 8u : 7u) << "limit " << limit;
        for (size_t i = 0; i < walked.size(); ++i) {
          EXPECT_NE(std::find(convs.begin(), convs.end(), walked[i].id), convs.end());
          auto info = store_->GetConversationInfo(walked[i].id);
          ASSERT_OK(info);
          EXPECT_EQ(walked[i].updated_at, info->updated_at);
          EXPECT_EQ(walked[i].message_count, count[walked[i].id]);
          EXPECT_EQ(walked[i].message_count, info->message_count);
          if (i > 0) {
            EXPECT_GE(walked[i - 1].updated_at, walked[i].updated_at) << "limit " << limit;
          }
        }
      }
    }
  }
  // The conversation written last is first.
  Add(convs[5], 1, 1);
  auto page = store_->ListConversations({.user_key = "bo", .limit = 1});
  ASSERT_OK(page);
  EXPECT_EQ(page->items.at(0).id, convs[5]);
}

TEST_F(PendingCountersTest, DeletesRetriesAndExportsCountThePendingMessages) {
  const std::string conv = NewConv("cy", "one");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto m = store_->AddMessage(conv, {.content = "m", .tokens_input = 5, .cost_nanousd = 7, .request_id = "r" + std::to_string(i)});
    ASSERT_OK(m);
    ids.push_back(m->id);
  }
  // A retry counts nothing.
  ASSERT_OK(store_->AddMessage(conv, {.content = "m", .tokens_input = 5, .cost_nanousd = 7, .request_id = "r3"}));
  EXPECT_EQ(store_->GetConversationInfo(conv)->message_count, 10);
  // A delete folds first, then takes one message out (its spend stays).
  ASSERT_OK(store_->DeleteMessage(ids[4]));
  auto info = store_->GetConversationInfo(conv);
  ASSERT_OK(info);
  EXPECT_EQ(info->message_count, 9);
  EXPECT_EQ(info->cost_nanousd, 70);
  EXPECT_EQ(StoredCount(db_, conv), "9");
  Add(conv, 5, 7);
  // The export carries the counters as read, and imports into a fresh store as they were.
  std::string exported;
  ASSERT_OK(store_->ExportUser("cy", {.sink = [&](std::string_view chunk) {
                                 exported += chunk;
                                 return Status::OK();
                               }}));
  EXPECT_NE(exported.find("\"message_count\":10"), std::string::npos) << exported;
  TempDb other;
  auto copy = OpenOrDie(other.path());
  TempDb file;
  {
    FILE* f = std::fopen(file.path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(exported.data(), 1, exported.size(), f);
    std::fclose(f);
  }
  ASSERT_OK(copy->ImportUser({.path = file.path()}));
  auto imported = copy->GetConversationInfo(conv);
  ASSERT_OK(imported);
  EXPECT_EQ(imported->message_count, 10);
  EXPECT_EQ(imported->cost_nanousd, 77);
  EXPECT_EQ(imported->updated_at, store_->GetConversationInfo(conv)->updated_at);
  ASSERT_OK(copy->AddMessage(conv, {.content = "after the import"}));
  auto full = copy->GetConversation(conv);
  ASSERT_OK(full);
  EXPECT_EQ(full->conversation.message_count, 11);
  EXPECT_EQ(full->messages.back().position, 11);  // after the deleted message's position too
}

}  // namespace
}  // namespace convstore
