// The corpus the vector search tests share: messages of 6 users in 12 conversations with vectors drawn around 4
// centres (so neighbours are meaningful), metadata {"n": i % 5}, and a brute-force top-k reference computed in
// double precision from the vectors as given.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.h"

namespace convstore::testing {

constexpr int kDim = 24;

struct Row {
  std::string id, conversation, user, role;
  std::vector<float> v;
  int n = 0;  // insertion order (newer = larger)
};

// A corpus of messages over 6 users (2 conversations each), with vectors drawn around 4 centres (so neighbours
// are meaningful) and metadata {"n": i % 5}.
class VectorCorpus : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(db_.path()); }


  void Fill(int n, const std::string& space, VectorMetric metric, VectorQuantization q = VectorQuantization::kNone) {
    ASSERT_OK(store_->CreateEmbeddingSpace(
        {.name = space, .target = EmbeddingTarget::kMessages, .dimension = kDim, .metric = metric,
         .quantization = q}));
    std::vector<std::string> convs;
    for (int c = 0; c < 12; ++c) {
      auto conv = store_->CreateConversation({.user_key = "user" + std::to_string(c % 6)});
      ASSERT_OK(conv);
      convs.push_back(conv->id);
    }
    std::vector<EmbeddingInput> inputs;
    for (int i = 0; i < n; ++i) {
      const int c = static_cast<int>(rng_() % 12);
      NewMessage m;
      m.role = i % 3 == 0 ? Role::kAssistant : Role::kUser;
      m.content = "message " + std::to_string(i);
      m.metadata_json = "{\"n\":" + std::to_string(i % 5) + "}";
      auto added = store_->AddMessage(convs[static_cast<size_t>(c)], m);
      ASSERT_OK(added);
      Row r{added->id, convs[static_cast<size_t>(c)], "user" + std::to_string(c % 6),
            i % 3 == 0 ? "assistant" : "user", Vector(), i};
      inputs.push_back({r.id, r.v});
      rows_.push_back(std::move(r));
    }
    ASSERT_OK(store_->PutEmbeddings(space, inputs));
  }

  std::vector<float> Vector() {
    std::normal_distribution<float> noise(0, 0.3f);
    const int centre = static_cast<int>(rng_() % 4);
    std::vector<float> v(kDim);
    for (int i = 0; i < kDim; ++i) v[static_cast<size_t>(i)] = (i % 4 == centre ? 1.0f : 0.0f) + noise(rng_);
    return v;
  }

  // The brute-force top k among rows `keep` accepts: ids best first, with scores.
  template <typename Keep>
  std::vector<std::pair<std::string, double>> Reference(const std::vector<float>& q, VectorMetric metric, int k,
                                                        Keep keep) const {
    std::vector<std::tuple<double, int, std::string>> all;
    for (const Row& r : rows_) {
      if (!keep(r)) continue;
      double dot = 0, qq = 0, vv = 0, d2 = 0;
      for (size_t i = 0; i < q.size(); ++i) {
        dot += double{q[i]} * r.v[i];
        qq += double{q[i]} * q[i];
        vv += double{r.v[i]} * r.v[i];
        d2 += (double{q[i]} - r.v[i]) * (double{q[i]} - r.v[i]);
      }
      const double score = metric == VectorMetric::kCosine ? dot / std::sqrt(qq * vv)
                           : metric == VectorMetric::kDot  ? dot
                                                           : -std::sqrt(d2);
      all.emplace_back(score, r.n, r.id);
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
      return std::get<1>(a) > std::get<1>(b);
    });
    std::vector<std::pair<std::string, double>> out;
    for (size_t i = 0; i < all.size() && out.size() < static_cast<size_t>(k); ++i)
      out.emplace_back(std::get<2>(all[i]), std::get<0>(all[i]));
    return out;
  }

  static std::vector<std::string> Ids(const VectorSearchResult& r) {
    std::vector<std::string> ids;
    for (const VectorHit& h : r.hits) ids.push_back(h.message_id);
    return ids;
  }
  static std::vector<std::string> Ids(const std::vector<std::pair<std::string, double>>& ref) {
    std::vector<std::string> ids;
    for (const auto& [id, score] : ref) ids.push_back(id);
    return ids;
  }

  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
  std::vector<Row> rows_;
  std::mt19937 rng_{5};
};

}  // namespace convstore::testing
