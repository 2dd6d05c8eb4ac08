// The scoring loops (vector_kernels.h), compiled once per Highway target by re-including this file.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "search/vector_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "search/vector_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace convstore::search {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One row: four independent accumulators hide the multiply-add latency; the remainder is scalar.
HWY_INLINE float DotRowF32(const float* HWY_RESTRICT q, const float* HWY_RESTRICT v, size_t dim) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * lanes <= dim; i += 4 * lanes) {
    s0 = hn::MulAdd(hn::LoadU(d, q + i), hn::LoadU(d, v + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, q + i + lanes), hn::LoadU(d, v + i + lanes), s1);
    s2 = hn::MulAdd(hn::LoadU(d, q + i + 2 * lanes), hn::LoadU(d, v + i + 2 * lanes), s2);
    s3 = hn::MulAdd(hn::LoadU(d, q + i + 3 * lanes), hn::LoadU(d, v + i + 3 * lanes), s3);
  }
  for (; i + lanes <= dim; i += lanes) s0 = hn::MulAdd(hn::LoadU(d, q + i), hn::LoadU(d, v + i), s0);
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < dim; ++i) sum += q[i] * v[i];
  return sum;
}

// int8 rows widened to int16 and multiplied pairwise into int32 lanes (vpmaddwd on x86): exact.
HWY_INLINE int32_t DotRowI8(const int16_t* HWY_RESTRICT q, const int8_t* HWY_RESTRICT v, size_t dim) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const size_t lanes = hn::Lanes(d16);
  auto s0 = hn::Zero(d32), s1 = hn::Zero(d32), unused0 = hn::Zero(d32), unused1 = hn::Zero(d32);
  size_t i = 0;
  for (; i + 2 * lanes <= dim; i += 2 * lanes) {
    s0 = hn::ReorderWidenMulAccumulate(d32, hn::LoadU(d16, q + i), hn::PromoteTo(d16, hn::LoadU(d8, v + i)), s0,
                                       unused0);
    s1 = hn::ReorderWidenMulAccumulate(d32, hn::LoadU(d16, q + i + lanes),
                                       hn::PromoteTo(d16, hn::LoadU(d8, v + i + lanes)), s1, unused1);
  }
  for (; i + lanes <= dim; i += lanes)
    s0 = hn::ReorderWidenMulAccumulate(d32, hn::LoadU(d16, q + i), hn::PromoteTo(d16, hn::LoadU(d8, v + i)), s0,
                                       unused0);
  // Targets that split the products over two accumulators put the rest in unused*: fold them in.
  s0 = hn::Add(hn::RearrangeToOddPlusEven(s0, unused0), hn::RearrangeToOddPlusEven(s1, unused1));
  int32_t sum = hn::GetLane(hn::SumOfLanes(d32, s0));
  for (; i < dim; ++i) sum += static_cast<int32_t>(q[i]) * v[i];
  return sum;
}

void DotF32(const float* query, const float* rows, size_t dim, size_t n, float* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotRowF32(query, rows + r * dim, dim);
}

void DotF32Slots(const float* query, const float* base, size_t dim, const uint32_t* slots, size_t n, float* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotRowF32(query, base + static_cast<size_t>(slots[r]) * dim, dim);
}

void DotI8(const int16_t* query16, const int8_t* rows, size_t dim, size_t n, int32_t* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotRowI8(query16, rows + r * dim, dim);
}

void DotI8Slots(const int16_t* query16, const int8_t* base, size_t dim, const uint32_t* slots, size_t n,
                int32_t* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotRowI8(query16, base + static_cast<size_t>(slots[r]) * dim, dim);
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace convstore::search
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace convstore::search {

HWY_EXPORT(DotF32);
HWY_EXPORT(DotF32Slots);
HWY_EXPORT(DotI8);
HWY_EXPORT(DotI8Slots);
HWY_EXPORT(TargetName);

void DotF32(const float* query, const float* rows, size_t dim, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(DotF32)(query, rows, dim, n, out);
}
void DotF32Slots(const float* query, const float* base, size_t dim, const uint32_t* slots, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(DotF32Slots)(query, base, dim, slots, n, out);
}
void DotI8(const int16_t* query16, const int8_t* rows, size_t dim, size_t n, int32_t* out) {
  HWY_DYNAMIC_DISPATCH(DotI8)(query16, rows, dim, n, out);
}
void DotI8Slots(const int16_t* query16, const int8_t* base, size_t dim, const uint32_t* slots, size_t n,
                int32_t* out) {
  HWY_DYNAMIC_DISPATCH(DotI8Slots)(query16, base, dim, slots, n, out);
}
const char* KernelTarget() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace convstore::search
#endif  // HWY_ONCE
