// The scoring loops against a plain double-precision reference: every dimension from 1 to 70 (every remainder of
// every target's vector length) and common embedding sizes, contiguous rows and selected slots, float32 within
// rounding and int8 exactly — with every instruction set this CPU supports (AVX-512, AVX2, SSE4, ...), each chosen
// in turn as run-time dispatch would.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "search/vector_kernels.h"

namespace convstore::search {
namespace {

std::vector<size_t> Dimensions() {
  std::vector<size_t> dims;
  for (size_t d = 1; d <= 70; ++d) dims.push_back(d);
  for (size_t d : {127, 128, 129, 384, 768, 1536, 3072}) dims.push_back(d);
  return dims;
}

void Float32DotProductsMatch() {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0, 1);
  for (size_t dim : Dimensions()) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    const size_t n = 9;
    std::vector<float> query(dim), rows(dim * n), out(n, -1), slotted(4, -1);
    for (float& x : query) x = normal(rng);
    for (float& x : rows) x = normal(rng);
    DotF32(query.data(), rows.data(), dim, n, out.data());
    for (size_t r = 0; r < n; ++r) {
      double want = 0, magnitude = 0;
      for (size_t i = 0; i < dim; ++i) {
        want += static_cast<double>(query[i]) * rows[r * dim + i];
        magnitude += std::fabs(static_cast<double>(query[i]) * rows[r * dim + i]);
      }
      EXPECT_NEAR(out[r], want, 1e-5 * magnitude + 1e-6) << "row " << r;
    }
    const std::vector<uint32_t> slots = {8, 0, 3, 3};
    DotF32Slots(query.data(), rows.data(), dim, slots.data(), slots.size(), slotted.data());
    for (size_t k = 0; k < slots.size(); ++k) EXPECT_EQ(slotted[k], out[slots[k]]) << "slot " << slots[k];
  }
}

void Int8DotProductsAreExact() {
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> value(-127, 127), query_value(-63, 63);
  for (size_t dim : Dimensions()) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    const size_t n = 7;
    std::vector<int8_t> query(dim);
    std::vector<int8_t> rows(dim * n);
    std::vector<int32_t> out(n, -1), slotted(3, -1);
    for (int8_t& x : query) x = static_cast<int8_t>(query_value(rng));
    for (int8_t& x : rows) x = static_cast<int8_t>(value(rng));
    // The extremes too: every product at its largest magnitude, of either sign.
    if (dim == 3072) {
      for (int8_t& x : query) x = -63;
      for (size_t i = 0; i < dim; ++i) rows[i] = -127;
      for (size_t i = 0; i < dim; ++i) rows[dim + i] = 127;
    }
    std::vector<int32_t> sums(n, 0);
    for (size_t r = 0; r < n; ++r)
      for (size_t i = 0; i < dim; ++i) sums[r] += rows[r * dim + i];
    DotI8(query.data(), rows.data(), sums.data(), dim, n, out.data());
    for (size_t r = 0; r < n; ++r) {
      int64_t want = 0;
      for (size_t i = 0; i < dim; ++i) want += int64_t{query[i]} * rows[r * dim + i];
      EXPECT_EQ(out[r], want) << "row " << r;
    }
    const std::vector<uint32_t> slots = {6, 2, 2};
    DotI8Slots(query.data(), rows.data(), sums.data(), dim, slots.data(), slots.size(), slotted.data());
    for (size_t k = 0; k < slots.size(); ++k) EXPECT_EQ(slotted[k], out[slots[k]]) << "slot " << slots[k];
  }
}

// Runs `check` once per target this CPU supports, dispatch pinned to it.
template <typename Check>
void ForEachTarget(Check check) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(std::string("target ") + KernelTarget());
    std::cout << "checked with " << KernelTarget() << "\n";
    check();
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(VectorKernels, Int8DotProductsAreExactWithEveryTarget) { ForEachTarget([] { Int8DotProductsAreExact(); }); }
TEST(VectorKernels, Float32DotProductsMatchWithEveryTarget) { ForEachTarget([] { Float32DotProductsMatch(); }); }

TEST(VectorKernels, NameTheTargetTheyRunWith) {
  const std::string target = KernelTarget();
  EXPECT_FALSE(target.empty());
  std::cout << "scoring loops run with " << target << "\n";
}

}  // namespace
}  // namespace convstore::search
