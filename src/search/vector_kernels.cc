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

// int8: the query's 7-bit values offset by 64 into [1, 127] multiply the rows' signed bytes pairwise into int16
// (x86's u8 × i8 multiply-add, vpmaddubsw: a pair of products is at most 2 · 127 · 128, which fits), widened into
// int32 lanes; Σ (q + 64) · v − 64 · Σ v is the exact dot product, Σ v kept per row. Twice the bytes per
// instruction of widening both to int16 first, which the other targets do (exact too, without the sums).
#if HWY_TARGET <= HWY_AVX3
HWY_INLINE int32_t DotRowI8(const int8_t* HWY_RESTRICT q, const int8_t* HWY_RESTRICT v, int32_t v_sum, size_t dim) {
  const __m512i offset = _mm512_set1_epi8(64), ones = _mm512_set1_epi16(1);
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 128 <= dim; i += 128) {
    const __m512i q0 = _mm512_add_epi8(_mm512_loadu_si512(q + i), offset);
    const __m512i q1 = _mm512_add_epi8(_mm512_loadu_si512(q + i + 64), offset);
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(_mm512_maddubs_epi16(q0, _mm512_loadu_si512(v + i)), ones));
    s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(_mm512_maddubs_epi16(q1, _mm512_loadu_si512(v + i + 64)), ones));
  }
  for (; i + 64 <= dim; i += 64) {
    const __m512i q0 = _mm512_add_epi8(_mm512_loadu_si512(q + i), offset);
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(_mm512_maddubs_epi16(q0, _mm512_loadu_si512(v + i)), ones));
  }
  int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
  // The offset is undone over the vectorised head: its Σ v is the row's sum minus the tail's.
  int32_t tail_sum = 0;
  for (size_t j = i; j < dim; ++j) tail_sum += v[j];
  sum -= 64 * (v_sum - tail_sum);
  for (; i < dim; ++i) sum += static_cast<int32_t>(q[i]) * v[i];
  return sum;
}
#elif HWY_TARGET == HWY_AVX2
HWY_INLINE int32_t DotRowI8(const int8_t* HWY_RESTRICT q, const int8_t* HWY_RESTRICT v, int32_t v_sum, size_t dim) {
  const __m256i offset = _mm256_set1_epi8(64), ones = _mm256_set1_epi16(1);
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 64 <= dim; i += 64) {
    const __m256i q0 = _mm256_add_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i)), offset);
    const __m256i q1 = _mm256_add_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i + 32)), offset);
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i + 32));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_maddubs_epi16(q0, v0), ones));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_maddubs_epi16(q1, v1), ones));
  }
  for (; i + 32 <= dim; i += 32) {
    const __m256i q0 = _mm256_add_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i)), offset);
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_maddubs_epi16(q0, v0), ones));
  }
  const __m256i s = _mm256_add_epi32(s0, s1);
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  int32_t sum = _mm_cvtsi128_si32(x);
  int32_t tail_sum = 0;
  for (size_t j = i; j < dim; ++j) tail_sum += v[j];
  sum -= 64 * (v_sum - tail_sum);
  for (; i < dim; ++i) sum += static_cast<int32_t>(q[i]) * v[i];
  return sum;
}
#else
HWY_INLINE int32_t DotRowI8(const int8_t* HWY_RESTRICT q, const int8_t* HWY_RESTRICT v, int32_t /*v_sum*/,
                            size_t dim) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const size_t lanes = hn::Lanes(d16);
  auto s0 = hn::Zero(d32), s1 = hn::Zero(d32), unused0 = hn::Zero(d32), unused1 = hn::Zero(d32);
  size_t i = 0;
  for (; i + 2 * lanes <= dim; i += 2 * lanes) {
    s0 = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LoadU(d8, q + i)),
                                       hn::PromoteTo(d16, hn::LoadU(d8, v + i)), s0, unused0);
    s1 = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LoadU(d8, q + i + lanes)),
                                       hn::PromoteTo(d16, hn::LoadU(d8, v + i + lanes)), s1, unused1);
  }
  for (; i + lanes <= dim; i += lanes)
    s0 = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LoadU(d8, q + i)),
                                       hn::PromoteTo(d16, hn::LoadU(d8, v + i)), s0, unused0);
  // Targets that split the products over two accumulators put the rest in unused*: fold them in.
  s0 = hn::Add(hn::RearrangeToOddPlusEven(s0, unused0), hn::RearrangeToOddPlusEven(s1, unused1));
  int32_t sum = hn::GetLane(hn::SumOfLanes(d32, s0));
  for (; i < dim; ++i) sum += static_cast<int32_t>(q[i]) * v[i];
  return sum;
}
#endif

void DotF32(const float* query, const float* rows, size_t dim, size_t n, float* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotRowF32(query, rows + r * dim, dim);
}

void DotF32Slots(const float* query, const float* base, size_t dim, const uint32_t* slots, size_t n, float* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotRowF32(query, base + static_cast<size_t>(slots[r]) * dim, dim);
}

void DotI8(const int8_t* query7, const int8_t* rows, const int32_t* row_sums, size_t dim, size_t n, int32_t* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotRowI8(query7, rows + r * dim, row_sums[r], dim);
}

void DotI8Slots(const int8_t* query7, const int8_t* base, const int32_t* row_sums, size_t dim, const uint32_t* slots,
                size_t n, int32_t* out) {
  for (size_t r = 0; r < n; ++r)
    out[r] = DotRowI8(query7, base + static_cast<size_t>(slots[r]) * dim, row_sums[slots[r]], dim);
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
void DotI8(const int8_t* query7, const int8_t* rows, const int32_t* row_sums, size_t dim, size_t n, int32_t* out) {
  HWY_DYNAMIC_DISPATCH(DotI8)(query7, rows, row_sums, dim, n, out);
}
void DotI8Slots(const int8_t* query7, const int8_t* base, const int32_t* row_sums, size_t dim, const uint32_t* slots,
                size_t n, int32_t* out) {
  HWY_DYNAMIC_DISPATCH(DotI8Slots)(query7, base, row_sums, dim, slots, n, out);
}
const char* KernelTarget() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace convstore::search
#endif  // HWY_ONCE
