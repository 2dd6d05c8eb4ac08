// The scoring loops of vector search: dot products of one query with many rows of a row-major matrix, in float32
// and in int8, compiled for every x86 target Highway knows (SSE4, AVX2, AVX-512) plus a portable one, the best the
// CPU supports chosen at run time (hwy/foreach_target.h, HWY_DYNAMIC_DISPATCH).
//
// Every metric reduces to dot products: cosine on vectors normalised when they are stored in memory, L2 as
// |q|² + |v|² − 2 q·v with |v|² kept per row.
//
// Thread-safe: pure functions of their arguments. Callers own every buffer; `out` holds n values.
#pragma once
#include <cstddef>
#include <cstdint>

namespace convstore::search {

// out[r] = Σ_i query[i] * rows[r * dim + i] for r in [0, n).
void DotF32(const float* query, const float* rows, size_t dim, size_t n, float* out);
// out[r] = Σ_i query[i] * base[slots[r] * dim + i] for r in [0, n): the rows a filter selected.
void DotF32Slots(const float* query, const float* base, size_t dim, const uint32_t* slots, size_t n, float* out);
// out[r] = Σ_i query7[i] * rows[r * dim + i] in exact 32-bit integer arithmetic: the query quantised to 7 bits
// (`query7`, values in [-63, 63]), rows in [-127, 127], and row_sums[r] = Σ_i rows[r * dim + i] (the x86 loops
// multiply the query offset into unsigned bytes and take the offset back with it).
void DotI8(const int8_t* query7, const int8_t* rows, const int32_t* row_sums, size_t dim, size_t n, int32_t* out);
// The same over the rows a filter selected: row_sums indexed by slot like the rows.
void DotI8Slots(const int8_t* query7, const int8_t* base, const int32_t* row_sums, size_t dim, const uint32_t* slots,
                size_t n, int32_t* out);

// The instruction set the loops run with on this CPU ("AVX3", "AVX2", "SSE4", "EMU128", ...).
const char* KernelTarget();

}  // namespace convstore::search
