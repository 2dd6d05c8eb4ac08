// The approximate index (HNSW) of vector search: built on demand and reported with its recall, used by unfiltered
// searches only (plan "hnsw"), close to the brute-force reference, never returning a deleted vector (this handle,
// another handle, erasure), following added and replaced vectors, its setting stored with the space (another
// handle builds its own at its first search), dropped with the space, and refused cleanly when out of range or over
// the memory budget.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "test_util.h"
#include "vector_corpus.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::Row;
using testing::VectorCorpus;
using testing::kDim;

// Hits of `got` that are in the reference's top k, over k.
double Recall(const VectorSearchResult& got, const std::vector<std::pair<std::string, double>>& ref) {
  std::set<std::string> want;
  for (const auto& [id, score] : ref) want.insert(id);
  size_t found = 0;
  for (const VectorHit& h : got.hits) found += want.count(h.message_id);
  return ref.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(ref.size());
}

TEST_F(VectorCorpus, TheIndexIsBuiltReportedAndCloseToTheReference) {
  for (VectorMetric metric : {VectorMetric::kCosine, VectorMetric::kDot, VectorMetric::kL2}) {
    SCOPED_TRACE(VectorMetricName(metric));
    rows_.clear();
    const std::string space = std::string("i_") + VectorMetricName(metric);
    Fill(600, space, metric);
    auto info = store_->CreateVectorIndex(space, {.m = 12, .ef_construction = 100, .ef_search = 80});
    ASSERT_OK(info);
    EXPECT_EQ(info->space, space);
    EXPECT_EQ(info->spec.m, 12);
    EXPECT_EQ(info->vectors, 600);
    EXPECT_GT(info->memory_bytes, 600 * kDim * 4);
    EXPECT_EQ(info->recall_queries, 100);
    EXPECT_GE(info->recall_at_10, 0.9);
    EXPECT_LE(info->recall_at_10, 1.0);
    // Again with the same spec: nothing to build, the same recall.
    auto again = store_->CreateVectorIndex(space, {.m = 12, .ef_construction = 100, .ef_search = 80});
    ASSERT_OK(again);
    EXPECT_EQ(again->build_seconds, 0);
    EXPECT_EQ(again->recall_at_10, info->recall_at_10);

    double recall = 0;
    for (int i = 0; i < 20; ++i) {
      const std::vector<float> q = Vector();
      auto got = store_->SearchVectors({.space = space, .vector = q, .k = 10});
      ASSERT_OK(got);
      EXPECT_EQ(got->plan, "hnsw");
      EXPECT_EQ(got->candidates, 600);
      ASSERT_EQ(got->hits.size(), 10u);
      for (size_t h = 1; h < got->hits.size(); ++h) EXPECT_GE(got->hits[h - 1].score, got->hits[h].score);
      const auto ref = Reference(q, metric, 10, [](const Row&) { return true; });
      recall += Recall(*got, ref);
      // Scores are exact: a hit also in the reference has its reference score.
      for (const VectorHit& h : got->hits) {
        for (const auto& [id, score] : ref) {
          if (id == h.message_id) {
            EXPECT_NEAR(h.score, score, 1e-5);
          }
        }
      }
      // exact: the reference itself.
      auto exact = store_->SearchVectors({.space = space, .vector = q, .k = 10, .exact = true});
      ASSERT_OK(exact);
      EXPECT_EQ(exact->plan, "exact");
      EXPECT_EQ(Recall(*exact, ref), 1.0);
    }
    EXPECT_GE(recall / 20, 0.9);
  }
}

TEST_F(VectorCorpus, FilteredSearchesAreExactWithAnIndex) {
  Fill(300, "f", VectorMetric::kCosine);
  ASSERT_OK(store_->CreateVectorIndex("f"));
  const std::vector<float> q = Vector();
  auto got = store_->SearchVectors({.space = "f", .vector = q, .k = 7, .filter = {.user_key = "user2"}});
  ASSERT_OK(got);
  EXPECT_EQ(got->plan, "exact");
  const auto ref = Reference(q, VectorMetric::kCosine, 7, [](const Row& r) { return r.user == "user2"; });
  ASSERT_EQ(got->hits.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_EQ(got->hits[i].message_id, ref[i].first);
}

TEST_F(VectorCorpus, TheIndexNeverReturnsADeletedVectorAndFollowsWrites) {
  Fill(300, "d", VectorMetric::kL2);
  ASSERT_OK(store_->CreateVectorIndex("d", {.m = 16, .ef_construction = 200, .ef_search = 100}));
  auto nearest = [&](const std::vector<float>& v) {
    auto got = store_->SearchVectors({.space = "d", .vector = v, .k = 1});
    EXPECT_TRUE(got.ok());
    EXPECT_TRUE(!got.ok() || got->plan == "hnsw");
    return got.ok() && !got->hits.empty() ? got->hits[0].message_id : std::string();
  };
  for (int i = 0; i < 6; ++i) ASSERT_EQ(nearest(rows_[static_cast<size_t>(i)].v), rows_[static_cast<size_t>(i)].id);
  // This handle deletes a message and a vector.
  ASSERT_OK(store_->DeleteMessage(rows_[0].id));
  EXPECT_NE(nearest(rows_[0].v), rows_[0].id);
  ASSERT_OK(store_->DeleteEmbedding("d", rows_[1].id));
  EXPECT_NE(nearest(rows_[1].v), rows_[1].id);
  // Another handle deletes one.
  {
    auto other = OpenOrDie(db_.path());
    ASSERT_OK(other->DeleteMessage(rows_[2].id));
  }
  EXPECT_NE(nearest(rows_[2].v), rows_[2].id);
  // Erasure of a user: none of theirs comes back, with k large enough to see every row.
  const std::string user = rows_[4].user;
  ASSERT_OK(store_->EraseUser(user));
  auto all = store_->SearchVectors({.space = "d", .vector = rows_[5].v, .k = 300, .ef_search = 400});
  ASSERT_OK(all);
  std::set<std::string> gone = {rows_[0].id, rows_[1].id, rows_[2].id};
  for (const Row& r : rows_)
    if (r.user == user) gone.insert(r.id);
  size_t live = 0;
  for (const Row& r : rows_) live += gone.count(r.id) ? 0 : 1;
  EXPECT_EQ(all->hits.size(), live);  // every live row, none deleted
  for (const VectorHit& h : all->hits) EXPECT_EQ(gone.count(h.message_id), 0u) << h.message_id;

  // A replaced vector is found where it now is; an added one too (written by another handle).
  std::vector<float> far(kDim, 0.0f);
  far[0] = 40.0f;
  ASSERT_OK(store_->PutEmbeddings("d", {{rows_[10].id, far}}));
  EXPECT_EQ(nearest(far), rows_[10].id);
  EXPECT_NE(nearest(rows_[10].v), rows_[10].id);
  std::vector<float> farther(kDim, 0.0f);
  farther[1] = -40.0f;
  {
    auto other = OpenOrDie(db_.path());
    ASSERT_OK(other->PutEmbeddings("d", {{rows_[11].id, farther}}));
  }
  EXPECT_EQ(nearest(farther), rows_[11].id);
}

TEST_F(VectorCorpus, TheSettingIsStoredAndAnotherHandleBuildsItsOwn) {
  Fill(200, "s", VectorMetric::kCosine);
  auto before = store_->SearchVectors({.space = "s", .vector = rows_[0].v, .k = 3});
  ASSERT_OK(before);
  EXPECT_EQ(before->plan, "exact");
  ASSERT_OK(store_->CreateVectorIndex("s", {.m = 8, .ef_construction = 50, .ef_search = 40}));
  auto other = OpenOrDie(db_.path());
  auto spaces = other->ListEmbeddingSpaces();
  ASSERT_OK(spaces);
  ASSERT_EQ(spaces->size(), 1u);
  ASSERT_TRUE((*spaces)[0].index.has_value());
  EXPECT_EQ((*spaces)[0].index->m, 8);
  EXPECT_EQ((*spaces)[0].index->ef_construction, 50);
  EXPECT_EQ((*spaces)[0].index->ef_search, 40);
  auto got = other->SearchVectors({.space = "s", .vector = rows_[0].v, .k = 1});  // builds the other's index
  ASSERT_OK(got);
  EXPECT_EQ(got->plan, "hnsw");
  EXPECT_EQ(got->hits[0].message_id, rows_[0].id);
  auto listed = other->ListEmbeddingSpaces();
  ASSERT_OK(listed);
  EXPECT_GT((*listed)[0].memory_bytes, 0);

  // Another spec replaces the setting; the first handle rebuilds at its next search.
  ASSERT_OK(other->CreateVectorIndex("s", {.m = 10, .ef_construction = 60, .ef_search = 50}));
  got = store_->SearchVectors({.space = "s", .vector = rows_[1].v, .k = 1});
  ASSERT_OK(got);
  EXPECT_EQ(got->plan, "hnsw");
  EXPECT_EQ(got->hits[0].message_id, rows_[1].id);
  // Dropped by the other handle: this one searches exactly again.
  auto dropped = other->DropVectorIndex("s");
  ASSERT_OK(dropped);
  EXPECT_TRUE(*dropped);
  EXPECT_FALSE(*other->DropVectorIndex("s"));
  got = store_->SearchVectors({.space = "s", .vector = rows_[1].v, .k = 1});
  ASSERT_OK(got);
  EXPECT_EQ(got->plan, "exact");
  // The setting goes with its space.
  ASSERT_OK(store_->CreateVectorIndex("s"));
  EXPECT_EQ(testing::QueryInt(db_.path(), "SELECT count(*) FROM meta WHERE key LIKE 'vector_index.%'"), 1);
  ASSERT_OK(store_->DropEmbeddingSpace("s"));
  EXPECT_EQ(testing::QueryInt(db_.path(), "SELECT count(*) FROM meta WHERE key LIKE 'vector_index.%'"), 0);
  // The creation and the drop are audited.
  EXPECT_GE(testing::QueryInt(db_.path(), "SELECT count(*) FROM audit_log WHERE action = 'vector_index.created'"), 2);
  EXPECT_EQ(testing::QueryInt(db_.path(), "SELECT count(*) FROM audit_log WHERE action = 'vector_index.dropped'"), 1);
}

TEST_F(VectorCorpus, BadIndexRequestsAreRefusedAndWriteNothing) {
  Fill(50, "b", VectorMetric::kCosine);
  auto settings = [&] { return testing::QueryInt(db_.path(), "SELECT count(*) FROM meta WHERE key LIKE 'vector%'"); };
  EXPECT_CODE(store_->CreateVectorIndex("b", {.m = 1}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateVectorIndex("b", {.m = 101}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateVectorIndex("b", {.m = 16, .ef_construction = 8}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateVectorIndex("b", {.ef_search = 0}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateVectorIndex("b", {.ef_search = 10001}), Code::kInvalidArgument);
  EXPECT_CODE(store_->CreateVectorIndex("nope"), Code::kNotFound);
  EXPECT_CODE(store_->CreateVectorIndex(""), Code::kInvalidArgument);
  EXPECT_CODE(store_->DropVectorIndex("nope"), Code::kNotFound);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = rows_[0].v, .ef_search = -1}), Code::kInvalidArgument);
  EXPECT_CODE(store_->SearchVectors({.space = "b", .vector = rows_[0].v, .ef_search = 10001}),
              Code::kInvalidArgument);
  // Over the memory budget: refused before the setting is written.
  ASSERT_OK(store_->SetVectorMemoryBudget(1000));
  EXPECT_CODE(store_->CreateVectorIndex("b"), Code::kTooLarge);
  EXPECT_EQ(settings(), 0);
  // A budget that holds the copy but not the index: searches stay exact and correct.
  ASSERT_OK(store_->SetVectorMemoryBudget(int64_t{1} << 30));
  ASSERT_OK(store_->CreateVectorIndex("b"));
  EXPECT_EQ(settings(), 1);
  auto other = OpenOrDie(db_.path());
  ASSERT_OK(other->SetVectorMemoryBudget(50 * (kDim * 4 + 60)));
  auto got = other->SearchVectors({.space = "b", .vector = rows_[3].v, .k = 1});
  ASSERT_OK(got);
  EXPECT_NE(got->plan, "hnsw");
  EXPECT_EQ(got->hits[0].message_id, rows_[3].id);
}

}  // namespace
}  // namespace convstore
