// Metadata search through the public API: every operator, type edge cases, ordinary filters, paging, explain,
// excluded paths, oversized documents, the migration backfill, bad input, and a randomized comparison with a
// reference evaluator across inserts, updates, deletes and index folds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "metadata/containment.h"
#include "metadata/index.h"
#include "sqlite/connection.h"
#include "test_util.h"

namespace convstore {
namespace {

using nlohmann::json;
using testing::OpenOrDie;
using testing::TempDb;

constexpr Micros kT0 = 1'770'800'000'000'000;  // 2026-02-11

// Takes a file back to schema version 2: what a file written before the metadata index looks like.
void DowngradeToVersion2(const std::string& path) {
  sqlite::ConnectionConfig cfg;
  auto raw = sqlite::Connection::Open(path, cfg);
  ASSERT_OK(raw);
  ASSERT_OK((*raw)->Exec(testing::DowngradeSchemaSql(2), "downgrade"));
}

class MetadataSearchTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      db_ = std::make_unique<TempDb>();
      store_ = OpenOrDie(db_->path());
    } else {
      store_ = OpenOrDie(ConversationStore::kInMemory);
    }
  }
  // Creates a conversation titled `title` with this metadata, `seq` µs after kT0.
  std::string Add(const std::string& title, const std::string& metadata, int64_t seq, const std::string& user = "u@x") {
    NewConversation c;
    c.user_key = user;
    c.title = title;
    c.metadata_json = metadata;
    c.created_at = kT0 + seq;
    auto r = store_->CreateConversation(c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : "";
  }
  std::vector<std::string> Titles(const std::string& contains, const std::string& where = "") {
    MetadataQuery q;
    q.contains_json = contains;
    q.where_json = where;
    q.limit = 1000;
    auto r = store_->SearchMetadata(q);
    EXPECT_TRUE(r.ok()) << contains << " " << where << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok())
      for (const Conversation& c : r->conversations) out.push_back(c.title);
    return out;
  }
  void ExpectConsistent() {
    auto v = store_->VerifyMetadataIndex();
    ASSERT_OK(v);
    EXPECT_TRUE(v->consistent()) << "missing " << v->missing << " extra " << v->extra << " wrong counts "
                                 << v->wrong_counts;
  }
  std::unique_ptr<TempDb> db_;
  std::unique_ptr<ConversationStore> store_;
};

using Names = std::vector<std::string>;

TEST_P(MetadataSearchTest, ContainmentFollowsJsonbRules) {
  Add("cli", R"({"source": "cli", "team": "netops", "tags": ["bgp", "ospf"], "n": 1})", 1);
  Add("web", R"({"source": "web", "team": "netops", "tags": ["bgp"], "n": 1.5})", 2);
  Add("nested", R"({"source": "cli", "user": {"id": "u1", "roles": ["admin", {"scope": "all"}]}})", 3);
  Add("empty", R"({})", 4);
  Add("typed", R"({"n": "1", "flag": true, "none": null, "arr": [[1, 3], 2], "obj": {}, "list": []})", 5);
  Add("unicode", R"({"clé": "värde", "a.b": {"c\"d": "x"}, "emoji": "🙂"})", 6);

  EXPECT_EQ(Titles(R"({"source": "cli"})"), (Names{"nested", "cli"}));  // newest first
  EXPECT_EQ(Titles(R"({"source": "cli", "team": "netops"})"), (Names{"cli"}));
  EXPECT_EQ(Titles(R"({})"), (Names{"unicode", "typed", "empty", "nested", "web", "cli"}));
  EXPECT_EQ(Titles(R"({"tags": ["bgp"]})"), (Names{"web", "cli"}));
  EXPECT_EQ(Titles(R"({"tags": ["ospf", "bgp"]})"), (Names{"cli"}));
  EXPECT_EQ(Titles(R"({"tags": "bgp"})"), Names{});  // a nested array does not contain a bare scalar
  EXPECT_EQ(Titles(R"({"tags": []})"), (Names{"web", "cli"}));
  // Numbers by value, never equal to strings.
  EXPECT_EQ(Titles(R"({"n": 1})"), (Names{"cli"}));
  EXPECT_EQ(Titles(R"({"n": 1.0})"), (Names{"cli"}));
  EXPECT_EQ(Titles(R"({"n": 1.50})"), (Names{"web"}));
  EXPECT_EQ(Titles(R"({"n": "1"})"), (Names{"typed"}));
  EXPECT_EQ(Titles(R"({"flag": true})"), (Names{"typed"}));
  EXPECT_EQ(Titles(R"({"flag": 1})"), Names{});
  EXPECT_EQ(Titles(R"({"none": null})"), (Names{"typed"}));
  EXPECT_EQ(Titles(R"({"none": false})"), Names{});
  // Nested arrays: [[1,3]] is contained, [1,3] (elements at the wrong level) is not.
  EXPECT_EQ(Titles(R"({"arr": [[1, 3]]})"), (Names{"typed"}));
  EXPECT_EQ(Titles(R"({"arr": [1, 3]})"), Names{});
  EXPECT_EQ(Titles(R"({"arr": [2]})"), (Names{"typed"}));
  // Empty containers: {} is contained by any object, [] by any array; never across kinds.
  EXPECT_EQ(Titles(R"({"obj": {}})"), (Names{"typed"}));
  EXPECT_EQ(Titles(R"({"list": []})"), (Names{"typed"}));
  EXPECT_EQ(Titles(R"({"obj": []})"), Names{});
  EXPECT_EQ(Titles(R"({"user": {}})"), (Names{"nested"}));
  EXPECT_EQ(Titles(R"({"user": {"roles": [{"scope": "all"}]}})"), (Names{"nested"}));
  EXPECT_EQ(Titles(R"({"user": {"roles": [{}]}})"), (Names{"nested"}));
  EXPECT_EQ(Titles(R"({"user": {"roles": ["all"]}})"), Names{});
  // Unicode keys, keys with dots and quotes.
  EXPECT_EQ(Titles(R"({"clé": "värde"})"), (Names{"unicode"}));
  EXPECT_EQ(Titles(R"({"a.b": {"c\"d": "x"}})"), (Names{"unicode"}));
  EXPECT_EQ(Titles(R"({"a": {"b": {"c\"d": "x"}}})"), Names{});
  EXPECT_EQ(Titles(R"({"emoji": "🙂"})"), (Names{"unicode"}));
  // A metadata document is an object: it never contains an array or a scalar.
  EXPECT_EQ(Titles(R"(["cli"])"), Names{});
  EXPECT_EQ(Titles(R"("cli")"), Names{});
  ExpectConsistent();
}

TEST_P(MetadataSearchTest, PathOperators) {
  Add("a", R"({"tier": 1, "name": "alpha", "user": {"id": "u1"}, "tags": ["x"]})", 1);
  Add("b", R"({"tier": 2.5, "name": "beta", "user": {"id": "u2"}})", 2);
  Add("c", R"({"tier": "3", "name": "gamma", "a.b": 7, "c/d": {"e~f": true}})", 3);
  Add("d", R"({"tier": null, "user": [{"id": "u1"}]})", 4);

  EXPECT_EQ(Titles("", R"({"tier": 1})"), (Names{"a"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$eq": 1.0}})"), (Names{"a"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$eq": null}})"), (Names{"d"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$ne": 1}})"), (Names{"d", "c", "b"}));
  EXPECT_EQ(Titles("", R"({"name": {"$ne": "beta"}})"), (Names{"d", "c", "a"}));  // absent counts as not equal
  EXPECT_EQ(Titles("", R"({"tier": {"$gt": 1}})"), (Names{"b"}));                  // "3" is a string
  EXPECT_EQ(Titles("", R"({"tier": {"$gte": 1}})"), (Names{"b", "a"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$lt": 2.5}})"), (Names{"a"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$lte": 2.5, "$gt": 1}})"), (Names{"b"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$gte": "3"}})"), (Names{"c"}));
  EXPECT_EQ(Titles("", R"({"name": {"$gt": "alpha", "$lt": "gamma"}})"), (Names{"b"}));
  EXPECT_EQ(Titles("", R"({"name": {"$in": ["alpha", "gamma", 3]}})"), (Names{"c", "a"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$in": [1, "3"]}})"), (Names{"c", "a"}));
  EXPECT_EQ(Titles("", R"({"tags": {"$in": [["x"]]}})"), (Names{"a"}));
  EXPECT_EQ(Titles("", R"({"tier": {"$exists": true}})"), (Names{"d", "c", "b", "a"}));
  EXPECT_EQ(Titles("", R"({"name": {"$exists": false}})"), (Names{"d"}));
  // Paths follow object keys only: d's user is an array.
  EXPECT_EQ(Titles("", R"({"user.id": "u1"})"), (Names{"a"}));
  EXPECT_EQ(Titles("", R"({"user.id": {"$exists": true}})"), (Names{"b", "a"}));
  EXPECT_EQ(Titles(R"({"user": [{"id": "u1"}]})"), (Names{"d"}));
  // Whole-value equality of containers.
  EXPECT_EQ(Titles("", R"({"user": {"$eq": {"id": "u2"}}})"), (Names{"b"}));
  EXPECT_EQ(Titles("", R"({"user": {"id": "u2"}})"), (Names{"b"}));  // an object without operators is $eq
  EXPECT_EQ(Titles("", R"({"tags": ["x"]})"), (Names{"a"}));
  EXPECT_EQ(Titles("", R"({"tags": []})"), Names{});
  // JSON Pointer paths for keys with dots and slashes.
  EXPECT_EQ(Titles("", R"({"/a.b": 7})"), (Names{"c"}));
  EXPECT_EQ(Titles("", R"({"a.b": 7})"), Names{});
  EXPECT_EQ(Titles("", R"({"/c~1d/e~0f": true})"), (Names{"c"}));
  // Containment and conditions together (AND).
  EXPECT_EQ(Titles(R"({"user": {"id": "u1"}})", R"({"tier": {"$lt": 5}})"), (Names{"a"}));
  ExpectConsistent();
}

TEST_P(MetadataSearchTest, OrdinaryFiltersTargetsAndPaging) {
  std::vector<std::string> ids;
  for (int i = 0; i < 2 * metadata::kFoldEvery + 22; ++i)  // crosses two folds of the tail
    ids.push_back(Add(fmt::format("c{:03}", i), fmt::format(R"({{"k": {}, "even": {}}})", i % 3, i % 2 == 0 ? "true" : "false"),
                      i * 10, i < 100 ? "alice" : "bob"));
  ASSERT_OK(store_->SetArchived(ids[0], true));
  NewMessage m;
  m.role = Role::kUser;
  m.content = "hi";
  m.metadata_json = R"({"tool": "bash", "ok": true})";
  ASSERT_OK(store_->AddMessage(ids[3], m));
  m.metadata_json = R"({"tool": "ssh", "ok": false})";
  ASSERT_OK(store_->AddMessage(ids[3], m));
  NewApiUsage u;
  u.user_key = "alice";
  u.model = "gpt-4o";
  u.metadata_json = R"({"route": "chat"})";
  ASSERT_OK(store_->RecordApiUsage(u));

  MetadataQuery q;
  q.contains_json = R"({"k": 0})";
  q.user_key = "alice";
  q.limit = 7;
  std::vector<std::string> all;
  for (int page = 0; page < 20; ++page) {
    auto r = store_->SearchMetadata(q);
    ASSERT_OK(r);
    for (const Conversation& c : r->conversations) {
      EXPECT_EQ(c.user_key, "alice");
      all.push_back(c.title);
    }
    if (r->next_cursor.empty()) break;
    q.cursor = r->next_cursor;
  }
  // i % 3 == 0 and i < 100: 34 conversations, newest first, no repeats.
  ASSERT_EQ(all.size(), 34u);
  EXPECT_EQ(all.front(), "c099");
  EXPECT_EQ(all.back(), "c000");
  EXPECT_TRUE(std::is_sorted(all.rbegin(), all.rend()));

  MetadataQuery t;
  t.contains_json = R"({"even": true})";
  t.from = kT0 + 200;
  t.to = kT0 + 300;  // c020..c029
  t.limit = 100;
  auto r = store_->SearchMetadata(t);
  ASSERT_OK(r);
  ASSERT_EQ(r->conversations.size(), 5u);
  EXPECT_EQ(r->conversations.front().title, "c028");
  t = MetadataQuery{};
  t.archived = true;
  r = store_->SearchMetadata(t);
  ASSERT_OK(r);
  ASSERT_EQ(r->conversations.size(), 1u);
  EXPECT_EQ(r->conversations[0].title, "c000");
  t = MetadataQuery{};
  t.conversation_id = ids[5];
  r = store_->SearchMetadata(t);
  ASSERT_OK(r);
  ASSERT_EQ(r->conversations.size(), 1u);
  t.user_key = "nobody";  // an unknown user or conversation selects nothing: an empty page that says why
  r = store_->SearchMetadata(t);
  ASSERT_OK(r);
  EXPECT_TRUE(r->conversations.empty());
  EXPECT_EQ(r->plan.strategy, "empty");
  ASSERT_EQ(r->plan.notes.size(), 1u);
  EXPECT_EQ(r->plan.notes[0], "user 'nobody' does not exist: nothing matches");
  t.user_key.clear();
  t.conversation_id = "no-such-conversation";
  r = store_->SearchMetadata(t);
  ASSERT_OK(r);
  EXPECT_TRUE(r->conversations.empty());
  EXPECT_TRUE(r->next_cursor.empty());

  MetadataQuery mq;
  mq.target = MetadataTarget::kMessages;
  mq.contains_json = R"({"tool": "bash"})";
  r = store_->SearchMetadata(mq);
  ASSERT_OK(r);
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(r->messages[0].conversation_id, ids[3]);
  mq.contains_json.clear();
  mq.where_json = R"({"ok": {"$ne": true}})";
  mq.conversation_id = ids[3];
  r = store_->SearchMetadata(mq);
  ASSERT_OK(r);
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_NE(r->messages[0].metadata_json.find("ssh"), std::string::npos);

  MetadataQuery aq;
  aq.target = MetadataTarget::kApiUsage;
  aq.contains_json = R"({"route": "chat"})";
  aq.user_key = "alice";
  r = store_->SearchMetadata(aq);
  ASSERT_OK(r);
  ASSERT_EQ(r->api_usage.size(), 1u);
  EXPECT_EQ(r->api_usage[0].model, "gpt-4o");
  ExpectConsistent();
}

// Below kFoldEvery rows nothing is in the posting lists yet: matches come from the tail, and the plan is "tail",
// not "empty" next to a result.
TEST_P(MetadataSearchTest, ASmallStoreAnswersFromTheTailAndSaysSo) {
  for (int i = 0; i < 10; ++i) Add(fmt::format("c{}", i), i % 2 ? R"({"source": "cli"})" : R"({"source": "web"})", i);
  MetadataQuery q;
  q.contains_json = R"({"source": "cli"})";
  auto r = store_->SearchMetadata(q);
  ASSERT_OK(r);
  EXPECT_EQ(r->conversations.size(), 5u);
  EXPECT_EQ(r->plan.strategy, "tail");
  EXPECT_EQ(r->plan.unindexed_checked, 10);
  EXPECT_EQ(r->plan.matched, 5);
  ASSERT_EQ(r->plan.postings.size(), 1u);
  EXPECT_EQ(r->plan.postings[0].count, 0);
  q.where_json = R"({"tier": {"$gt": 0}})";
  q.contains_json.clear();
  auto scan = store_->ExplainMetadata(q);
  ASSERT_OK(scan);
  EXPECT_EQ(scan->strategy, "tail");
  EXPECT_EQ(scan->matched, 0);
}

TEST_P(MetadataSearchTest, ExplainReportsPostingsCandidatesAndScans) {
  for (int i = 0; i < 300; ++i)
    Add(fmt::format("c{}", i), fmt::format(R"({{"source": "{}", "team": "t{}", "rare": {}}})", i % 2 ? "cli" : "web",
                                            i % 10, i == 7 ? "true" : "false"),
        i);
  MetadataQuery q;
  q.contains_json = R"({"source": "cli", "rare": true})";
  auto plan = store_->ExplainMetadata(q);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->strategy, "index");
  ASSERT_EQ(plan->postings.size(), 2u);
  EXPECT_EQ(plan->postings[0].path, "/rare");
  EXPECT_EQ(plan->postings[0].value, "t");
  EXPECT_EQ(plan->postings[0].role, "driver");
  EXPECT_EQ(plan->postings[0].count, 1);
  EXPECT_EQ(plan->postings[1].path, "/source");
  EXPECT_EQ(plan->postings[1].role, "probe");
  EXPECT_EQ(plan->matched, 1);
  EXPECT_EQ(plan->candidates, 1);
  EXPECT_GT(plan->unindexed_checked, 0);  // the newest rows, not folded into the postings yet

  // No posting for the value: only the unfolded tail (300 - 256 rows) is checked, and the plan says so.
  q.contains_json = R"({"source": "nope"})";
  plan = store_->ExplainMetadata(q);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->strategy, "tail");
  EXPECT_EQ(plan->candidates, 0);
  EXPECT_EQ(plan->unindexed_checked, 300 - 256);
  ASSERT_FALSE(plan->notes.empty());
  EXPECT_NE(plan->notes.back().find("44 row(s) not yet folded"), std::string::npos) << plan->notes.back();
  // An empty time range examines nothing: "empty".
  q.from = q.to = kT0;
  plan = store_->ExplainMetadata(q);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->strategy, "empty");
  EXPECT_EQ(plan->unindexed_checked, 0);
  q.from.reset();
  q.to.reset();

  // $ne alone has no index path: a bounded scan, which says so and stops at scan_limit with a cursor.
  q.contains_json.clear();
  q.where_json = R"({"team": {"$ne": "t3"}})";
  q.limit = 1000;
  q.scan_limit = 100;
  auto r = store_->SearchMetadata(q);
  ASSERT_OK(r);
  EXPECT_EQ(r->plan.strategy, "scan");
  EXPECT_TRUE(r->plan.scan_truncated);
  EXPECT_FALSE(r->next_cursor.empty());
  ASSERT_FALSE(r->plan.notes.empty());
  EXPECT_NE(r->plan.notes[0].find("no index path"), std::string::npos);
  size_t total = r->conversations.size();
  for (int i = 0; i < 10 && !r->next_cursor.empty(); ++i) {
    q.cursor = r->next_cursor;
    r = store_->SearchMetadata(q);
    ASSERT_OK(r);
    total += r->conversations.size();
  }
  EXPECT_EQ(total, 270u);  // every conversation but the 30 of team t3, across the bounded pages

  // A small page: the rows cut from a page (here, unfolded ones newer than where the scan stopped) come on the
  // next page; paging never skips or repeats a row.
  q.cursor.clear();
  q.limit = 7;
  q.scan_limit = 50;
  std::set<std::string> seen;
  size_t pages = 0;
  for (; pages < 200; ++pages) {
    r = store_->SearchMetadata(q);
    ASSERT_OK(r);
    for (const Conversation& c : r->conversations) EXPECT_TRUE(seen.insert(c.id).second) << "repeated " << c.title;
    if (r->next_cursor.empty()) break;
    q.cursor = r->next_cursor;
  }
  EXPECT_EQ(seen.size(), 270u);
}

TEST_P(MetadataSearchTest, ExcludedPathsAndOversizedDocuments) {
  Add("a", R"({"secret": {"token": "abc"}, "keep": 1})", 1);
  Add("b", R"({"secret": {"token": "def"}, "keep": 2})", 2);
  auto report = store_->SetMetadataExcludedPaths({"secret"});
  ASSERT_OK(report);
  EXPECT_EQ(report->excluded_paths, std::vector<std::string>{"/secret"});
  Add("c", R"({"secret": {"token": "abc"}, "keep": 3})", 3);
  EXPECT_EQ(Titles(R"({"secret": {"token": "abc"}})"), (Names{"c", "a"}));  // still exact, by verification
  MetadataQuery q;
  q.contains_json = R"({"secret": {"token": "abc"}, "keep": 1})";
  auto plan = store_->ExplainMetadata(q);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->postings.size(), 1u);  // only /keep
  ASSERT_FALSE(plan->notes.empty());
  EXPECT_NE(plan->notes[0].find("excluded"), std::string::npos);
  ExpectConsistent();

  json big = json::object();
  for (int i = 0; i < 600; ++i) big[fmt::format("k{}", i)] = i;
  Add("big", big.dump(), 4);
  json deep = "leaf";
  for (int i = 0; i < 40; ++i) deep = json::object({{"d", deep}});
  deep["top"] = "deep";
  Add("deep", deep.dump(), 5);
  for (int i = 0; i < metadata::kFoldEvery + 6; ++i) Add(fmt::format("f{}", i), "{}", 10 + i);  // fold the tail
  EXPECT_EQ(Titles(R"({"k599": 599})"), (Names{"big"}));
  EXPECT_EQ(Titles("", R"({"k5": {"$gte": 5}})"), (Names{"big"}));
  EXPECT_EQ(Titles(R"({"top": "deep"})"), (Names{"deep"}));
  auto v = store_->VerifyMetadataIndex();
  ASSERT_OK(v);
  EXPECT_TRUE(v->consistent());
  EXPECT_EQ(v->unindexed, 2);
  ASSERT_OK(store_->SetMetadataExcludedPaths({}));
  EXPECT_EQ(Titles(R"({"secret": {"token": "abc"}})"), (Names{"c", "a"}));
  ExpectConsistent();
}

TEST_P(MetadataSearchTest, BadInputIsRefusedAndChangesNothing) {
  Add("a", R"({"x": 1})", 1);
  ASSERT_OK(store_->SetMetadataExcludedPaths({"hidden"}));
  auto bad = [&](MetadataQuery q, Code code) {
    EXPECT_CODE(store_->SearchMetadata(q), code);
    EXPECT_CODE(store_->ExplainMetadata(q), code);
  };
  MetadataQuery q;
  q.limit = 0;
  bad(q, Code::kInvalidArgument);
  q = {};
  q.limit = limits::kMaxListLimit + 1;
  bad(q, Code::kInvalidArgument);
  q = {};
  q.scan_limit = 0;
  bad(q, Code::kInvalidArgument);
  q = {};
  q.target = static_cast<MetadataTarget>(7);
  bad(q, Code::kInvalidArgument);
  q = {};
  q.cursor = "c1.2.3";
  bad(q, Code::kInvalidArgument);
  q = {};
  q.cursor = "m1.1.5.6";  // a messages cursor on a conversations search
  bad(q, Code::kInvalidArgument);
  q = {};
  q.from = kT0 + 10;
  q.to = kT0;
  bad(q, Code::kInvalidArgument);
  q = {};
  q.from = -1;
  bad(q, Code::kInvalidArgument);
  q = {};
  q.user_key = std::string(300, 'u');
  bad(q, Code::kTooLarge);
  for (const char* contains : {"{", "{\"a\": }", "\xff"}) {
    q = {};
    q.contains_json = contains;
    bad(q, Code::kInvalidArgument);
  }
  for (const char* where :
       {R"([1])", R"({"a": {"$foo": 1}})", R"({"a": {"$gt": {}}})", R"({"a": {"$gt": null}})", R"({"a": {"$in": []}})",
        R"({"a": {"$in": 3}})", R"({"a": {"$exists": 1}})", R"({"": 1})", R"({"a..b": 1})", R"({"/a~2": 1})",
        R"({"a": {"$eq": 1, "b": 2}})", "not json"}) {
    q = {};
    q.where_json = where;
    bad(q, Code::kInvalidArgument);
  }
  q = {};
  json many = json::object();
  for (int i = 0; i < 70; ++i) many[fmt::format("k{}", i)] = i;
  q.where_json = many.dump();
  bad(q, Code::kTooLarge);
  q = {};
  json in = json::array();
  for (int i = 0; i < 65; ++i) in.push_back(i);
  q.where_json = json({{"a", {{"$in", in}}}}).dump();
  bad(q, Code::kTooLarge);

  // Excluded paths: refused, and the stored ones stay.
  EXPECT_CODE(store_->SetMetadataExcludedPaths({""}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SetMetadataExcludedPaths({"a..b"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SetMetadataExcludedPaths({"/a~x"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SetMetadataExcludedPaths({std::string("a\0b", 3)}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SetMetadataExcludedPaths({"\xff"}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SetMetadataExcludedPaths(std::vector<std::string>(65, "a")), Code::kTooLarge);
  auto v = store_->VerifyMetadataIndex();
  ASSERT_OK(v);
  EXPECT_EQ(v->excluded_paths, std::vector<std::string>{"/hidden"});
  EXPECT_TRUE(v->consistent());
}

INSTANTIATE_TEST_SUITE_P(FileAndMemory, MetadataSearchTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "file" : "memory"; });

// ---- randomized comparison with a reference ------------------------------------------------------------

// An evaluator written apart from src/metadata/filter.cc: the path walk and comparisons, for the reference.
const json* RefLookup(const json& doc, const std::vector<std::string>& keys) {
  const json* v = &doc;
  for (const auto& k : keys) {
    if (!v->is_object() || !v->contains(k)) return nullptr;
    v = &(*v)[k];
  }
  return v;
}

bool RefEqual(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return metadata::ScalarEqual(a, b);
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto& [k, v] : a.items())
      if (!b.contains(k) || !RefEqual(v, b[k])) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!RefEqual(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

struct RefCondition {
  std::vector<std::string> keys;
  std::string op;
  json value;
};

bool RefHolds(const json& doc, const RefCondition& c) {
  const json* v = RefLookup(doc, c.keys);
  if (c.op == "$exists") return (v != nullptr) == c.value.get<bool>();
  if (c.op == "$ne") return v == nullptr || !RefEqual(*v, c.value);
  if (v == nullptr) return false;
  if (c.op == "$eq") return RefEqual(*v, c.value);
  if (c.op == "$in") {
    for (const json& w : c.value)
      if (RefEqual(*v, w)) return true;
    return false;
  }
  double have, want = 0;
  if (c.value.is_number() && v->is_number()) {
    have = v->get<double>();
    want = c.value.get<double>();
  } else if (c.value.is_string() && v->is_string()) {
    int cmp = v->get<std::string>().compare(c.value.get<std::string>());
    have = cmp;
    want = 0;
  } else {
    return false;
  }
  if (c.op == "$gt") return have > want;
  if (c.op == "$gte") return have >= want;
  if (c.op == "$lt") return have < want;
  return have <= want;
}

class RandomDocs {
 public:
  explicit RandomDocs(uint32_t seed) : rng_(seed) {}
  json Scalar() {
    switch (Pick(7)) {
      case 0: return nullptr;
      case 1: return Pick(2) == 0;
      case 2: return static_cast<int>(Pick(4));
      case 3: return static_cast<double>(Pick(4)) + 0.5;
      case 4: return std::to_string(Pick(4));
      case 5: return std::string(70, 'a') + std::to_string(Pick(3));  // long: indexed as prefix + hash
      default: return kWords[Pick(kWords.size())];
    }
  }
  json Value(int depth) {
    const size_t kind = depth > 2 ? 0 : Pick(6);
    if (kind == 4) {
      json a = json::array();
      for (size_t i = Pick(4); i > 0; --i) a.push_back(Value(depth + 1));
      return a;
    }
    if (kind == 5) return Object(depth + 1);
    return Scalar();
  }
  json Object(int depth) {
    json o = json::object();
    for (size_t i = Pick(depth == 0 ? 6 : 3); i > 0; --i) o[kKeys[Pick(kKeys.size())]] = Value(depth);
    return o;
  }
  // A query likely to match some documents: a random part of a document, or a random object.
  json SubQuery(const json& doc) {
    if (Pick(4) == 0) return Object(1);
    if (!doc.is_structured() || doc.empty()) return doc;
    if (doc.is_object()) {
      json q = json::object();
      for (auto& [k, v] : doc.items())
        if (Pick(2) == 0) q[k] = SubQuery(v);
      return q;
    }
    json q = json::array();
    for (const json& e : doc)
      if (Pick(2) == 0) q.push_back(SubQuery(e));
    return q;
  }
  RefCondition Condition() {
    static const char* kOps[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$exists"};
    RefCondition c;
    for (size_t i = 1 + Pick(2); i > 0; --i) c.keys.push_back(kKeys[Pick(kKeys.size())]);
    c.op = kOps[Pick(8)];
    if (c.op == "$exists") c.value = Pick(2) == 0;
    else if (c.op == "$in") c.value = json::array({Scalar(), Scalar()});
    else if (c.op == "$eq" || c.op == "$ne") c.value = Value(2);
    else c.value = Pick(2) ? json(static_cast<int>(Pick(4))) : json(std::to_string(Pick(4)));
    return c;
  }
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

 private:
  const std::vector<std::string> kKeys = {"a", "b", "c.d", "é", "q\"k", "", "tags"};
  const std::vector<std::string> kWords = {"cli", "web", "x", "", "ü"};
  std::mt19937 rng_;
};

TEST(MetadataSearchRandom, AgreesWithReferenceThroughWritesUpdatesAndDeletes) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    TempDb db;
    auto store = OpenOrDie(db.path());
    RandomDocs gen(seed);
    struct Doc {
      std::string id;
      json metadata;
      Micros at;
      std::string user;
    };
    std::vector<Doc> docs;
    std::vector<std::pair<std::string, json>> messages;  // (conversation id, metadata)
    int nonempty = 0;
    auto check = [&](int round) {
      for (int q = 0; q < 40; ++q) {
        const bool use_contains = gen.Pick(4) != 0 && !docs.empty();
        json contains = use_contains ? gen.SubQuery(docs[gen.Pick(docs.size())].metadata) : json();
        std::vector<RefCondition> conds;
        for (size_t i = gen.Pick(3); i > 0; --i) conds.push_back(gen.Condition());
        json where = json::object();
        std::vector<RefCondition> used;
        for (const RefCondition& c : conds) {
          std::string path;
          for (const auto& k : c.keys) path += "/" + k;  // JSON Pointer (no ~ or / in the keys)
          if (where.contains(path)) continue;
          where[path] = json::object({{c.op, c.value}});
          used.push_back(c);
        }
        MetadataQuery mq;
        if (use_contains) mq.contains_json = contains.dump();
        if (!used.empty()) mq.where_json = where.dump();
        const bool one_user = gen.Pick(3) == 0;
        if (one_user) mq.user_key = "u0";
        mq.limit = 1 + static_cast<int>(gen.Pick(20));
        std::multiset<std::string> got;
        Micros last = INT64_MAX;
        for (int page = 0; page < 500; ++page) {
          auto r = store->SearchMetadata(mq);
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          for (const Conversation& c : r->conversations) {
            got.insert(c.id);
            EXPECT_LE(c.created_at, last) << "not newest first";
            last = c.created_at;
          }
          if (r->next_cursor.empty()) break;
          mq.cursor = r->next_cursor;
        }
        std::multiset<std::string> want;
        for (const Doc& d : docs) {
          if (one_user && d.user != "u0") continue;
          if (use_contains && !metadata::Contains(d.metadata, contains)) continue;
          bool ok = true;
          for (const RefCondition& c : used) ok = ok && RefHolds(d.metadata, c);
          if (ok) want.insert(d.id);
        }
        ASSERT_EQ(got, want) << "seed " << seed << " round " << round << " contains " << contains.dump()
                             << " where " << where.dump();
        nonempty += want.empty() ? 0 : 1;
      }
      // Messages: containment over the documents of messages whose conversation still exists.
      for (int q = 0; q < 10 && !messages.empty(); ++q) {
        json contains = gen.SubQuery(messages[gen.Pick(messages.size())].second);
        MetadataQuery mq;
        mq.target = MetadataTarget::kMessages;
        mq.contains_json = contains.dump();
        mq.limit = 1000;
        auto r = store->SearchMetadata(mq);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        size_t want = 0;
        for (const auto& [conv, doc] : messages)
          if (metadata::Contains(doc, contains)) ++want;
        ASSERT_EQ(r->messages.size(), want) << contains.dump();
      }
      auto v = store->VerifyMetadataIndex();
      ASSERT_TRUE(v.ok());
      EXPECT_TRUE(v->consistent()) << "seed " << seed << " round " << round;
    };
    for (int round = 0; round < 6; ++round) {
      for (int i = 0; i < 60; ++i) {
        Doc d{"", gen.Object(0), kT0 + static_cast<Micros>(gen.Pick(200)), "u" + std::to_string(gen.Pick(3))};
        NewConversation c;
        c.user_key = d.user;
        c.title = "t";
        c.metadata_json = d.metadata.dump();
        c.created_at = d.at;
        auto r = store->CreateConversation(c);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        d.id = r->id;
        d.metadata = json::parse(r->metadata_json);
        docs.push_back(d);
      }
      for (int i = 0; i < 40 && !docs.empty(); ++i) {  // messages with metadata
        const Doc& d = docs[gen.Pick(docs.size())];
        NewMessage m;
        m.role = Role::kUser;
        m.content = "x";
        json meta = gen.Object(0);
        m.metadata_json = meta.dump();
        ASSERT_OK(store->AddMessage(d.id, m));
        messages.emplace_back(d.id, meta);
      }
      for (int i = 0; i < 10 && !docs.empty(); ++i) {  // metadata updates
        Doc& d = docs[gen.Pick(docs.size())];
        ConversationUpdate u;
        d.metadata = gen.Object(0);
        u.metadata_json = d.metadata.dump();
        ASSERT_OK(store->UpdateConversation(d.id, u));
      }
      for (int i = 0; i < 8 && !docs.empty(); ++i) {  // deletes, the newest included (its id is reused)
        size_t k = i == 0 ? docs.size() - 1 : gen.Pick(docs.size());
        ASSERT_OK(store->DeleteConversation(docs[k].id));
        std::erase_if(messages, [&](const auto& m) { return m.first == docs[k].id; });
        docs.erase(docs.begin() + static_cast<std::ptrdiff_t>(k));
      }
      check(round);
      if (round == 3) {
        auto rebuilt = store->RebuildMetadataIndex();
        ASSERT_OK(rebuilt);
        EXPECT_EQ(rebuilt->pending, 0);
        check(round);
      }
    }
    EXPECT_GT(nonempty, 60) << "the random queries should match something often";
  }
}

// ---- concurrency -----------------------------------------------------------------------------------------

// Searches on reader connections while two writers add conversations and messages (crossing folds): every row a
// search returns matches, and a reader never sees fewer matches than it saw before (snapshots only move forward).
TEST(MetadataConcurrency, SearchesDuringWritesSeeCommittedRowsOnly) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  constexpr int kPerWriter = 300;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto writer = [&](int w) {
    for (int i = 0; i < kPerWriter; ++i) {
      NewConversation c;
      c.user_key = "w" + std::to_string(w);
      c.metadata_json = json({{"k", i % 5}, {"w", w}}).dump();
      auto r = store->CreateConversation(c);
      if (!r.ok()) ++failures;
      NewMessage m;
      m.role = Role::kUser;
      m.content = "x";
      m.metadata_json = json({{"k", i % 5}}).dump();
      if (r.ok() && !store->AddMessage(r->id, m).ok()) ++failures;
    }
  };
  auto reader = [&] {
    size_t last = 0;
    while (!done.load()) {
      MetadataQuery q;
      q.contains_json = R"({"k": 1})";
      q.limit = 1000;
      auto r = store->SearchMetadata(q);
      if (!r.ok()) {
        ++failures;
        continue;
      }
      for (const Conversation& c : r->conversations)
        if (json::parse(c.metadata_json).value("k", -1) != 1) ++failures;
      if (r->conversations.size() < last) ++failures;
      last = r->conversations.size();
    }
  };
  std::thread r1(reader), r2(reader);
  std::thread w1(writer, 1), w2(writer, 2);
  w1.join();
  w2.join();
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(failures.load(), 0);
  MetadataQuery q;
  q.contains_json = R"({"k": 1})";
  q.limit = 1000;
  auto r = store->SearchMetadata(q);
  ASSERT_OK(r);
  EXPECT_EQ(r->conversations.size(), 2u * kPerWriter / 5);
  auto v = store->VerifyMetadataIndex();
  ASSERT_OK(v);
  EXPECT_TRUE(v->consistent());
}

// ---- migration -------------------------------------------------------------------------------------------

// Documents beyond the posting limit are checked directly; many of them (one user's) must not slow another user's
// search, and a search over them is bounded by scan_limit, continuing with a cursor and dropping no match.
TEST(MetadataOversized, OneUsersOversizedDocumentsDoNotSlowOthersAndAreBoundedByScanLimit) {
  TempDb db;
  auto s = OpenOrDie(db.path());
  auto big = [](int i, int k7) {
    json d = json::object();
    for (int k = 0; k < 600; ++k) d[fmt::format("k{}", k)] = k == 7 ? k7 : k;
    d["who"] = i;
    return d.dump();
  };
  const int n = 3000;
  auto mallory = s->CreateConversation({.user_key = "mallory"});
  ASSERT_OK(mallory);
  std::vector<int> expected;  // `who` of the oversized documents that match k7 > 1000000, newest first
  for (int i = 0; i < n; i += 100) {
    std::vector<NewMessage> batch;
    for (int j = i; j < i + 100; ++j) {
      const bool hit = j % 700 == 350;
      if (hit) expected.insert(expected.begin(), j);
      batch.push_back({.content = "x", .metadata_json = big(j, hit ? 2'000'000 : 7), .created_at = kT0 + j});
    }
    ASSERT_OK(s->AddMessages(mallory->id, batch));
  }
  auto ana = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(ana);
  for (int j = 0; j < 3; ++j) ASSERT_OK(s->AddMessage(ana->id, {.content = "y", .metadata_json = R"({"k7": 7})", .created_at = kT0 + n + j}));
  ASSERT_OK(s->AddMessage(ana->id, {.content = "z", .metadata_json = big(-1, 7), .created_at = kT0 + n + 5}));

  // Another user's conversation-scoped and user-scoped searches never look at mallory's documents.
  for (bool by_conversation : {true, false}) {
    MetadataQuery q;
    q.target = MetadataTarget::kMessages;
    q.contains_json = R"({"k7": 7})";
    if (by_conversation) q.conversation_id = ana->id;
    else q.user_key = "ana";
    q.limit = 100;
    auto r = s->SearchMetadata(q);
    ASSERT_OK(r);
    EXPECT_EQ(r->messages.size(), 4u);
    EXPECT_LE(r->plan.unindexed_checked, 8) << (by_conversation ? "conversation" : "user") << " scope";
  }
  // An unscoped search over them: each page examines at most scan_limit of them and continues with a cursor;
  // paging finds every match exactly once.
  MetadataQuery q;
  q.target = MetadataTarget::kMessages;
  q.where_json = R"({"k7": {"$gt": 1000000}})";
  q.scan_limit = 500;
  q.limit = 10;
  std::vector<int> found;
  int pages = 0;
  for (;;) {
    auto r = s->SearchMetadata(q);
    ASSERT_OK(r);
    EXPECT_LE(r->plan.unindexed_checked, 500 + metadata::kFoldEvery);
    for (const Message& m : r->messages) found.push_back(json::parse(m.metadata_json).at("who").get<int>());
    ++pages;
    if (r->next_cursor.empty()) break;
    q.cursor = r->next_cursor;
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(found, expected);
  EXPECT_GE(pages, n / 500);
}

TEST(MetadataMigration, BackfillsAnOlderFileWithProgress) {
  TempDb db;
  std::vector<std::string> ids;
  {
    auto s = OpenOrDie(db.path());
    for (int i = 0; i < 120; ++i) {
      NewConversation c;
      c.user_key = "u";
      c.title = fmt::format("c{}", i);
      c.metadata_json = fmt::format(R"({{"k": {}}})", i % 4);
      auto r = s->CreateConversation(c);
      ASSERT_OK(r);
      ids.push_back(r->id);
      NewMessage m;
      m.role = Role::kUser;
      m.content = "x";
      m.metadata_json = R"({"tool": "bash"})";
      ASSERT_OK(s->AddMessage(r->id, m));
    }
  }
  ASSERT_NO_FATAL_FAILURE(DowngradeToVersion2(db.path()));
  std::vector<Progress> seen;
  Options o;
  o.on_progress = [&](const Progress& p) { seen.push_back(p); };
  auto s = OpenOrDie(db.path(), o);
  EXPECT_EQ(s->schema_version(), testing::kSchemaVersion);
  // Only the backfill's reports (the backup before the migration and each migration's start come too).
  std::erase_if(seen, [](const Progress& p) { return p.operation != "schema migration 3 (metadata index)"; });
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front().done, 0);
  EXPECT_EQ(seen.back().done, 240);
  EXPECT_EQ(seen.back().total, 240);
  MetadataQuery q;
  q.contains_json = R"({"k": 1})";
  q.limit = 100;
  auto r = s->SearchMetadata(q);
  ASSERT_OK(r);
  EXPECT_EQ(r->conversations.size(), 30u);
  EXPECT_EQ(r->plan.strategy, "index");
  q.target = MetadataTarget::kMessages;
  q.contains_json = R"({"tool": "bash"})";
  q.limit = 1000;
  r = s->SearchMetadata(q);
  ASSERT_OK(r);
  EXPECT_EQ(r->messages.size(), 120u);
  auto v = s->VerifyMetadataIndex();
  ASSERT_OK(v);
  EXPECT_TRUE(v->consistent());
  EXPECT_EQ(v->documents, 240);
  EXPECT_EQ(v->pending, 0);
}

// Migration 4 gives the oversized documents of a version-3 file their user and conversation.
TEST(MetadataMigration, OversizedDocumentsGetTheirScopes) {
  TempDb db;
  std::string ana, bob;
  json big = json::object();
  for (int k = 0; k < 600; ++k) big[fmt::format("k{}", k)] = k;
  {
    auto s = OpenOrDie(db.path());
    ana = s->CreateConversation({.user_key = "ana", .metadata_json = big.dump()})->id;
    bob = s->CreateConversation({.user_key = "bob"})->id;
    for (int i = 0; i < 300; ++i) {  // past a fold, so the oversized ones are in metadata_unindexed
      ASSERT_OK(s->AddMessage(i % 2 ? ana : bob, {.content = "x", .metadata_json = big.dump()}));
      ASSERT_OK(s->RecordApiUsage({.user_key = i % 2 ? "ana" : "bob", .conversation_id = i % 2 ? ana : bob,
                                   .model = "m", .metadata_json = big.dump()}));
    }
  }
  {  // back to schema version 3
    sqlite::ConnectionConfig cfg;
    auto raw = sqlite::Connection::Open(db.path(), cfg);
    ASSERT_OK(raw);
    ASSERT_OK((*raw)->Exec(testing::DowngradeSchemaSql(3), "downgrade"));
  }
  EXPECT_GT(testing::QueryInt(db.path(), "SELECT count(*) FROM metadata_unindexed"), 400);
  auto s = OpenOrDie(db.path());
  EXPECT_EQ(s->schema_version(), testing::kSchemaVersion);
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM metadata_unindexed WHERE user_id IS NULL"), 0);
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM metadata_unindexed m JOIN conversations c"
                                         " ON c.id = m.conversation_id WHERE m.kind = 1 AND c.uid = '" + ana + "'"),
            testing::QueryInt(db.path(), "SELECT count(*) FROM metadata_unindexed m JOIN messages g ON g.id = m.obj"
                                         " JOIN conversations c ON c.id = g.conversation_id WHERE m.kind = 1 AND c.uid = '" +
                                         ana + "'"));
  for (MetadataTarget t : {MetadataTarget::kConversations, MetadataTarget::kMessages, MetadataTarget::kApiUsage}) {
    MetadataQuery q;
    q.target = t;
    q.contains_json = R"({"k5": 5})";
    q.conversation_id = ana;
    q.limit = 1000;
    auto r = s->SearchMetadata(q);
    ASSERT_OK(r);
    const size_t want = t == MetadataTarget::kConversations ? 1u : 150u;
    EXPECT_EQ(r->conversations.size() + r->messages.size() + r->api_usage.size(), want);
    q.conversation_id.clear();
    q.user_key = "bob";
    r = s->SearchMetadata(q);
    ASSERT_OK(r);
    EXPECT_EQ(r->conversations.size() + r->messages.size() + r->api_usage.size(),
              t == MetadataTarget::kConversations ? 0u : 150u);
  }
  // Deleting a conversation detaches its API usage's oversized documents (the rows stay, without a conversation).
  const int64_t attached = testing::QueryInt(
      db.path(), "SELECT count(*) FROM metadata_unindexed m JOIN conversations c ON c.id = m.conversation_id"
                 " WHERE m.kind = 2 AND c.uid = '" + ana + "'");
  EXPECT_GT(attached, 100);
  ASSERT_OK(s->DeleteConversation(ana));
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM metadata_unindexed WHERE kind = 2 AND conversation_id IS NULL"),
            attached);
  auto v = s->VerifyMetadataIndex();
  ASSERT_OK(v);
  EXPECT_TRUE(v->consistent());
}

// A version-2 file holding an oversized document: migration 3 backfills it before migration 4 adds the scope
// columns, and the file ends up at version 4 with the document scoped.
TEST(MetadataMigration, AVersion2FileWithAnOversizedDocumentMigrates) {
  TempDb db;
  json big = json::object();
  for (int k = 0; k < 600; ++k) big[fmt::format("k{}", k)] = k;
  std::string conv;
  {
    auto s = OpenOrDie(db.path());
    conv = s->CreateConversation({.user_key = "ana", .metadata_json = big.dump()})->id;
    ASSERT_OK(s->AddMessage(conv, {.content = "x", .metadata_json = big.dump()}));
  }
  ASSERT_NO_FATAL_FAILURE(DowngradeToVersion2(db.path()));
  auto s = OpenOrDie(db.path());
  EXPECT_EQ(s->schema_version(), testing::kSchemaVersion);
  EXPECT_EQ(testing::QueryInt(db.path(), "SELECT count(*) FROM metadata_unindexed WHERE user_id IS NOT NULL"), 2);
  MetadataQuery q;
  q.target = MetadataTarget::kMessages;
  q.contains_json = R"({"k5": 5})";
  q.user_key = "ana";
  auto r = s->SearchMetadata(q);
  ASSERT_OK(r);
  EXPECT_EQ(r->messages.size(), 1u);
  auto v = s->VerifyMetadataIndex();
  ASSERT_OK(v);
  EXPECT_TRUE(v->consistent());
}

}  // namespace
}  // namespace convstore
