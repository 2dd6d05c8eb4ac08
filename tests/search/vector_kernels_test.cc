// The scoring loops against a plain double-precision reference: every dimension from 1 to 70 (every remainder of
// every target's vector length) and common embedding sizes, contiguous rows and selected slots, float32 within
// rounding and int8 exactly.
#include <gtest/gtest.h>

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

TEST(VectorKernels, Float32DotProductsMatchAReference) {
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

TEST(VectorKernels, Int8DotProductsAreExact) {
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> value(-127, 127);
  for (size_t dim : Dimensions()) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    const size_t n = 7;
    std::vector<int16_t> query(dim);
    std::vector<int8_t> rows(dim * n);
    std::vector<int32_t> out(n, -1), slotted(3, -1);
    for (int16_t& x : query) x = static_cast<int16_t>(value(rng));
    for (int8_t& x : rows) x = static_cast<int8_t>(value(rng));
    // The extremes too: every product at its largest magnitude.
    if (dim == 3072) {
      for (int16_t& x : query) x = -127;
      for (size_t i = 0; i < dim; ++i) rows[i] = -127;
    }
    DotI8(query.data(), rows.data(), dim, n, out.data());
    for (size_t r = 0; r < n; ++r) {
      int64_t want = 0;
      for (size_t i = 0; i < dim; ++i) want += int64_t{query[i]} * rows[r * dim + i];
      EXPECT_EQ(out[r], want) << "row " << r;
    }
    const std::vector<uint32_t> slots = {6, 2, 2};
    DotI8Slots(query.data(), rows.data(), dim, slots.data(), slots.size(), slotted.data());
    for (size_t k = 0; k < slots.size(); ++k) EXPECT_EQ(slotted[k], out[slots[k]]) << "slot " << slots[k];
  }
}

TEST(VectorKernels, NameTheTargetTheyRunWith) {
  const std::string target = KernelTarget();
  EXPECT_FALSE(target.empty());
  std::cout << "scoring loops run with " << target << "\n";
}

}  // namespace
}  // namespace convstore::search
