// Vector search: exact results equal a brute-force reference computed here in double precision from the vectors
// as given (cosine, dot, L2; float32 and int8 with rescoring), filtered searches return exactly the top k of the
// filtered set, a deleted vector is never returned however it was deleted (this handle, another handle, another
// program's SQL, retention, erasure), replaced and added vectors are seen at the next search, spaces and bad input,
// hybrid ranks fused as reciprocal rank fusion says, and a file of the previous version gains the tables.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "vector_corpus.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::TempDb;
using testing::kDim;
using testing::Row;
using testing::VectorCorpus;


TEST_F(VectorCorpus, ExactResultsEqualABruteForceReference) {
  for (VectorMetric metric : {VectorMetric::kCosine, VectorMetric::kDot, VectorMetric::kL2}) {
    SCOPED_TRACE(VectorMetricName(metric));
    rows_.clear();
    const std::string space = std::string("s_") + VectorMetricName(metric);
    Fill(400, space, metric);
    for (int t = 0; t < 8; ++t) {
      const std::vector<float> q = Vector();
      auto r = store_->SearchVectors({.space = space, .vector = q, .k = 10});
      ASSERT_OK(r);
      EXPECT_EQ(r->plan, "exact");
      EXPECT_EQ(r->candidates, 400);
      const auto ref = Reference(q, metric, 10, [](const Row&) { return true; });
      EXPECT_EQ(Ids(*r), Ids(ref));
      for (size_t i = 0; i < ref.size() && i < r->hits.size(); ++i) EXPECT_NEAR(r->hits[i].score, ref[i].second, 1e-5);
    }
  }
}

TEST_F(VectorCorpus, FiltersApplyBeforeRanking) {
  Fill(600, "f", VectorMetric::kCosine);
  const std::vector<float> q = Vector();
  struct Case {
    const char* name;
    SearchFilter filter;
    std::function<bool(const Row&)> keep;
  };
  const std::string conv = rows_[7].conversation;
  std::vector<Case> cases = {
      {"user", {.user_key = "user3"}, [](const Row& r) { return r.user == "user3"; }},
      {"role", {.role = "assistant"}, [](const Row& r) { return r.role == "assistant"; }},
      {"conversation", {.conversation_id = conv}, [&](const Row& r) { return r.conversation == conv; }},
      {"user and role", {.user_key = "user1", .role = "assistant"},
       [](const Row& r) { return r.user == "user1" && r.role == "assistant"; }},
      {"metadata", {.metadata_contains_json = R"({"n":2})"}, [](const Row& r) { return r.n % 5 == 2; }},
      {"unknown user", {.user_key = "nobody"}, [](const Row&) { return false; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = store_->SearchVectors({.space = "f", .vector = q, .k = 25, .filter = c.filter});
    ASSERT_OK(r);
    const auto ref = Reference(q, VectorMetric::kCosine, 25, c.keep);
    EXPECT_EQ(Ids(*r), Ids(ref));  // exactly the filtered set's top k: never fewer when that many match
  }
}

TEST_F(VectorCorpus, Int8WithRescoringFindsTheExactNeighbours) {
  Fill(800, "q", VectorMetric::kCosine, VectorQuantization::kInt8);
  int found = 0, wanted = 0;
  for (int t = 0; t < 20; ++t) {
    const std::vector<float> q = Vector();
    auto r = store_->SearchVectors({.space = "q", .vector = q, .k = 10});
    ASSERT_OK(r);
    EXPECT_EQ(r->plan, "exact int8 + rescore");
    const auto ref = Ids(Reference(q, VectorMetric::kCosine, 10, [](const Row&) { return true; }));
    const std::vector<std::string> hits = Ids(*r);
    const std::set<std::string> got(hits.begin(), hits.end());
    for (const std::string& id : ref) found += got.count(id) ? 1 : 0;
    wanted += static_cast<int>(ref.size());
    for (size_t i = 1; i < r->hits.size(); ++i) EXPECT_GE(r->hits[i - 1].score, r->hits[i].score);
  }
  EXPECT_GE(static_cast<double>(found) / wanted, 0.99);
}

TEST_F(VectorCorpus, ADeletedVectorIsNeverReturned) {
  Fill(200, "d", VectorMetric::kL2);
  // The nearest neighbour of a row's own vector is that row.
  auto nearest = [&](const Row& r) {
    auto got = store_->SearchVectors({.space = "d", .vector = r.v, .k = 1});
    EXPECT_TRUE(got.ok());
    return got.ok() && !got->hits.empty() ? got->hits[0].message_id : std::string();
  };
  for (int i = 0; i < 6; ++i) ASSERT_EQ(nearest(rows_[static_cast<size_t>(i)]), rows_[static_cast<size_t>(i)].id);

  // This handle: the message, then only the vector.
  ASSERT_OK(store_->DeleteMessage(rows_[0].id));
  EXPECT_NE(nearest(rows_[0]), rows_[0].id);
  auto removed = store_->DeleteEmbedding("d", rows_[1].id);
  ASSERT_OK(removed);
  EXPECT_TRUE(*removed);
  EXPECT_NE(nearest(rows_[1]), rows_[1].id);
  EXPECT_FALSE(*store_->DeleteEmbedding("d", rows_[1].id));
  // Another handle on the same file.
  {
    auto other = OpenOrDie(db_.path());
    ASSERT_OK(other->DeleteMessage(rows_[2].id));
  }
  EXPECT_NE(nearest(rows_[2]), rows_[2].id);
  // Another program's SQL (foreign keys on: the vector goes with its message).
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_.path().c_str(), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    ASSERT_EQ(sqlite3_exec(raw, "PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr), SQLITE_OK);
    const std::string sql = "DELETE FROM messages WHERE uid = '" + rows_[3].id + "'";
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  EXPECT_NE(nearest(rows_[3]), rows_[3].id);
  // Erasure of the user of row 4.
  const std::string user = rows_[4].user;
  ASSERT_OK(store_->EraseUser(user));
  for (const Row& r : rows_) {
    if (r.user == user) {
      EXPECT_NE(nearest(r), r.id);
    }
  }
  // Every row left is still found.
  for (const Row& r : rows_)
    if (r.user != user && r.n > 3) {
      EXPECT_EQ(nearest(r), r.id);
      break;
    }
  auto spaces = store_->ListEmbeddingSpaces();
  ASSERT_OK(spaces);
  int64_t left = 0;
  for (const Row& r : rows_) left += r.user != user && r.n > 3 ? 1 : 0;
  EXPECT_EQ((*spaces)[0].vectors, left);
}

TEST_F(VectorCorpus, ReplacedAndAddedVectorsAreSeenAtTheNextSearch) {
  Fill(100, "r", VectorMetric::kDot);
  std::vector<float> far(kDim, 0.0f);
  far[0] = 50.0f;  // a dot product no other row comes near
  ASSERT_OK(store_->SearchVectors({.space = "r", .vector = far, .k = 1}));  // the copy is read
  ASSERT_OK(store_->PutEmbeddings("r", {{rows_[10].id, far}}));
  auto r = store_->SearchVectors({.space = "r", .vector = far, .k = 1});
  ASSERT_OK(r);
  EXPECT_EQ(r->hits[0].message_id, rows_[10].id);
  // Written through another handle.
  {
    auto other = OpenOrDie(db_.path());
    std::vector<float> farther(kDim, 0.0f);
    farther[0] = 60.0f;
    ASSERT_OK(other->PutEmbeddings("r", {{rows_[20].id, farther}}));
  }
  r = store_->SearchVectors({.space = "r", .vector = far, .k = 2});
  ASSERT_OK(r);
  EXPECT_EQ(r->hits[0].message_id, rows_[20].id);
  EXPECT_EQ(r->hits[1].message_id, rows_[10].id);
  auto stored = store_->GetEmbedding("r", rows_[20].id);
  ASSERT_OK(stored);
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((**stored)[0], 60.0f);
  EXPECT_FALSE(store_->GetEmbedding("r", store_->CreateConversation({.user_key = "x"})->id).ok());  // not a message
}

TEST_F(VectorCorpus, BadInputIsRefusedAndWritesNothing) {
  Fill(20, "b", VectorMetric::kCosine);
  auto count = [&] { return testing::QueryInt(db_.path(), "SELECT count(*) FROM message_embeddings"); };
  const int64_t before = count();
  std::vector<float> good(kDim, 0.5f), wrong(kDim + 1, 0.5f), nan(kDim, 0.5f), inf(kDim, 0.5f), zero(kDim, 0.0f);
  nan[3] = std::nanf("");
  inf[5] = INFINITY;
  const std::string id = rows_[0].id;
  EXPECT_CODE(store_->PutEmbeddings("b", {{id, wrong}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->PutEmbeddings("b", {{id, nan}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->PutEmbeddings("b", {{id, inf}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->PutEmbeddings("b", {{id, zero}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->PutEmbeddings("b", {{id, good}, {id, good}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->PutEmbeddings("b", {{rows_[1].id, good}, {"no-such-message", good}}), Code::kNotFound);
  EXPECT_CODE(store_->PutEmbeddings("nope", {{id, good}}), Code::kNotFound);
  EXPECT_CODE(store_->PutEmbeddings("bad name!", {{id, good}}), Code::kNotFound);  // no space has that name
  EXPECT_CODE(store_->PutEmbeddings("", {{id, good}}), Code::kInvalidArgument);
  EXPECT_CODE(store_->PutEmbeddings("b", {}), Code::kInvalidArgument);
  EXPECT_EQ(count(), before);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = wrong}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = nan}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SearchVectors({.space = "nope", .vector = good}), Code::kNotFound);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = good, .k = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = good, .k = 1001}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = good, .rescore_factor = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = good, .filter = {.role = "robot"}}),
              Code::kInvalidArgument);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = good, .filter = {.metadata_where_json = "[1]"}}),
              Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateEmbeddingSpace({.name = "b", .dimension = kDim + 1}), Code::kConflict);
  EXPECT_CODE(store_->CreateEmbeddingSpace({.name = "z", .dimension = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateEmbeddingSpace({.name = "z", .dimension = 4097}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateEmbeddingSpace({.name = "", .dimension = 3}), Code::kInvalidArgument);
  EXPECT_CODE(store_->DropEmbeddingSpace("nope"), Code::kNotFound);
  EXPECT_EQ(count(), before);
  EXPECT_EQ(testing::QueryInt(db_.path(), "SELECT count(*) FROM embedding_spaces"), 1);
}

TEST_F(VectorCorpus, SpacesAreCreatedListedAndDropped) {
  auto made = store_->CreateEmbeddingSpace({.name = "titles", .target = EmbeddingTarget::kConversations,
                                            .dimension = 3, .metric = VectorMetric::kL2});
  ASSERT_OK(made);
  EXPECT_EQ(made->vectors, 0);
  ASSERT_OK(store_->CreateEmbeddingSpace({.name = "titles", .target = EmbeddingTarget::kConversations,
                                          .dimension = 3, .metric = VectorMetric::kL2}));  // the same: fine
  auto a = store_->CreateConversation({.user_key = "ana", .title = "BGP flaps"});
  auto b = store_->CreateConversation({.user_key = "bo", .title = "Invoices"});
  ASSERT_OK(store_->PutEmbeddings("titles", {{a->id, {1, 0, 0}}, {b->id, {0, 1, 0}}}));
  auto r = store_->SearchVectors({.space = "titles", .vector = {0.9f, 0.1f, 0}, .k = 5});
  ASSERT_OK(r);
  ASSERT_EQ(r->hits.size(), 2u);
  EXPECT_EQ(r->hits[0].conversation_id, a->id);
  EXPECT_EQ(r->hits[0].content, "BGP flaps");
  EXPECT_TRUE(r->hits[0].message_id.empty());
  EXPECT_NEAR(r->hits[0].distance, std::sqrt(0.01 + 0.01), 1e-6);
  EXPECT_CODE(store_->SearchVectors({.space = "titles", .vector = {1, 0, 0}, .filter = {.role = "user"}}),
              Code::kInvalidArgument);  // conversations have no role
  auto listed = store_->ListEmbeddingSpaces();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].vectors, 2);
  EXPECT_GT((*listed)[0].memory_bytes, 0);
  ASSERT_OK(store_->DropEmbeddingSpace("titles"));
  EXPECT_EQ(testing::QueryInt(db_.path(), "SELECT count(*) FROM conversation_embeddings"), 0);
  EXPECT_CODE(store_->SearchVectors({.space = "titles", .vector = {1, 0, 0}}), Code::kNotFound);
}

TEST_F(VectorCorpus, HybridFusesTheRanksOfBothLists) {
  ASSERT_OK(store_->CreateEmbeddingSpace({.name = "h", .dimension = 2, .metric = VectorMetric::kCosine}));
  auto conv = store_->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  const std::vector<std::pair<std::string, std::vector<float>>> docs = {
      {"bgp flap on edge", {1, 0}}, {"bgp session reset", {0.8f, 0.6f}}, {"invoice question", {0.9f, 0.1f}},
      {"bgp bgp bgp", {0, 1}}};
  std::vector<std::string> ids;
  for (const auto& [text, v] : docs) {
    auto m = store_->AddMessage(conv->id, {.role = Role::kUser, .content = text});
    ASSERT_OK(m);
    ids.push_back(m->id);
    ASSERT_OK(store_->PutEmbeddings("h", {{m->id, v}}));
  }
  HybridSearchQuery q;
  q.text.text = "bgp";
  q.vector = {.space = "h", .vector = {1, 0}};
  q.limit = 10;
  q.candidates = 10;
  auto text = store_->SearchText({.text = "bgp", .limit = 10});
  auto vec = store_->SearchVectors({.space = "h", .vector = {1, 0}, .k = 10});
  ASSERT_OK(text);
  ASSERT_OK(vec);
  std::map<std::string, double> want;
  for (size_t i = 0; i < text->hits.size(); ++i) want[text->hits[i].message_id] += 1.0 / (60.0 + static_cast<double>(i + 1));
  for (size_t i = 0; i < vec->hits.size(); ++i) want[vec->hits[i].message_id] += 1.0 / (60.0 + static_cast<double>(i + 1));
  auto r = store_->SearchHybrid(q);
  ASSERT_OK(r);
  ASSERT_EQ(r->hits.size(), want.size());
  for (size_t i = 0; i < r->hits.size(); ++i) {
    EXPECT_NEAR(r->hits[i].score, want[r->hits[i].row.message_id], 1e-12);
    if (i > 0) {
      EXPECT_GE(r->hits[i - 1].score, r->hits[i].score);
    }
  }
  EXPECT_EQ(r->hits[0].row.message_id, ids[0]);  // first in both lists
  EXPECT_TRUE(r->hits[0].text_rank && r->hits[0].vector_rank);
  EXPECT_EQ(r->hits[0].snippet, "[bgp] flap on edge");
  // Weights: text only ranks as the full-text search does.
  q.vector_weight = 0;
  r = store_->SearchHybrid(q);
  ASSERT_OK(r);
  for (size_t i = 0; i < text->hits.size(); ++i) EXPECT_EQ(r->hits[i].row.message_id, text->hits[i].message_id);
  q.text_weight = 0;
  EXPECT_CODE(store_->SearchHybrid(q), Code::kInvalidArgument);
  q.text_weight = 1;
  q.text.target = TextSearchTarget::kConversations;
  EXPECT_CODE(store_->SearchHybrid(q), Code::kInvalidArgument);  // the space holds messages
}

TEST_F(VectorCorpus, BeyondTheMemoryBudgetSearchesReadTheFileWithTheSameResults) {
  Fill(300, "m", VectorMetric::kL2);
  auto streamed = OpenOrDie(db_.path());
  ASSERT_OK(streamed->SetVectorMemoryBudget(0));  // no copies
  auto some = OpenOrDie(db_.path());
  ASSERT_OK(some->SetVectorMemoryBudget(200 * (kDim * 4 + 45)));  // fits 200 of the 300 vectors: still none
  for (int t = 0; t < 5; ++t) {
    const std::vector<float> q = Vector();
    for (const SearchFilter& f : {SearchFilter{}, SearchFilter{.user_key = "user4"}}) {
      auto in_memory = store_->SearchVectors({.space = "m", .vector = q, .k = 15, .filter = f});
      auto from_file = streamed->SearchVectors({.space = "m", .vector = q, .k = 15, .filter = f});
      auto from_small = some->SearchVectors({.space = "m", .vector = q, .k = 15, .filter = f});
      ASSERT_OK(in_memory);
      ASSERT_OK(from_file);
      ASSERT_OK(from_small);
      EXPECT_EQ(in_memory->plan, "exact");
      EXPECT_EQ(from_file->plan, "exact (streamed)");
      EXPECT_EQ(from_small->plan, "exact (streamed)");
      EXPECT_EQ(Ids(*from_file), Ids(*in_memory));
      EXPECT_EQ(Ids(*from_small), Ids(*in_memory));
      EXPECT_EQ(from_file->candidates, in_memory->candidates);
      for (size_t i = 0; i < in_memory->hits.size(); ++i)
        EXPECT_NEAR(from_file->hits[i].distance, in_memory->hits[i].distance, 1e-9);
    }
  }
  auto spaces = some->ListEmbeddingSpaces();
  ASSERT_OK(spaces);
  EXPECT_EQ((*spaces)[0].memory_bytes, 0);
  EXPECT_CODE(some->SetVectorMemoryBudget(-1), Code::kInvalidArgument);
  // Lowering the budget drops the copies that no longer fit.
  ASSERT_OK(store_->SearchVectors({.space = "m", .vector = Vector()}));
  EXPECT_GT((*store_->ListEmbeddingSpaces())[0].memory_bytes, 0);
  ASSERT_OK(store_->SetVectorMemoryBudget(1000));
  EXPECT_EQ((*store_->ListEmbeddingSpaces())[0].memory_bytes, 0);
}

TEST(VectorSearch, AFileOfThePreviousVersionGainsTheTables) {
  TempDb db;
  { auto store = OpenOrDie(db.path()); }
  testing::ExecOnFile(db.path(), testing::DowngradeSchemaSql(11));
  auto store = OpenOrDie(db.path());
  EXPECT_EQ(store->schema_version(), testing::kSchemaVersion);
  ASSERT_OK(store->CreateEmbeddingSpace({.name = "after", .dimension = 4}));
}

}  // namespace
}  // namespace convstore
