// Reductions over one contiguous block of axes, seen as an (outer, reduced, inner) array.
// Large ones split their rows (or chunks of columns) between xtape's threads
// (parallel.hpp); each output slot is summed as on one thread.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "xtape/shape.hpp"

namespace xtape::kernels {

/// A row-major array reduced over one contiguous block of axes, after merging
/// neighbouring axes of the same kind (size-1 axes belong to either): element
/// (o, r, i) sits at x[(o * reduced + r) * inner + i], and output slot (o, i)
/// at out[o * inner + i]. inner == 1 reduces contiguous rows; outer == 1 adds
/// rows of length inner together.
struct BlockReduction {
    std::size_t outer;
    std::size_t reduced;
    std::size_t inner;
};

/// The block form of reducing an array of `shape` over the sorted `axes`, or
/// nullopt when the reduced axes of size > 1 are not adjacent.
std::optional<BlockReduction> block_reduction(const Shape& shape, const AxisList& axes);

/// out[o, i] = sum_r x[o, r, i]. A row is summed lane-wise in SIMD blocks of
/// 2048 elements whose sums are added pairwise (a row of fewer than 16, in
/// sequence); columns are summed in groups of 64 rows whose sums are added
/// pairwise. Rounding grows with the block size and the logarithm of the
/// length, not with the length.
template <class T>
void sum_block(const T* x, const BlockReduction& b, T* out);

/// out[o, i] = max_r x[o, r, i]; NaN when the slice holds a NaN, -inf for a
/// slice of -inf.
template <class T>
void max_block(const T* x, const BlockReduction& b, T* out);

/// out[o, i] = sum_r exp(x[o, r, i] - shift[o, i]), summed as in sum_block.
template <class T>
void sum_exp_block(const T* x, const BlockReduction& b, const T* shift, T* out);

/// out[o] = sum_j x[o, j] y[o, j] for `rows` rows of n, summed as in sum_block
/// (no product array): row-wise dot products.
template <class T>
void dot_rows(const T* x, const T* y, std::size_t rows, std::size_t n, T* out);

/// out[o, j] = (factor g[o]) y[o, j] for `rows` rows of n: the gradient of dot_rows.
template <class T>
void scale_rows(const T* g, T factor, const T* y, std::size_t rows, std::size_t n, T* out);

/// y[o, j] *= g[o] in place for `rows` rows of n. A row whose g[o] is 1 is
/// left as it is, unread: losses whose samples mostly pass their gradient
/// through unchanged (the active samples of a hinge) skip their rows' pass.
template <class T>
void scale_rows_in_place(const T* g, std::size_t rows, std::size_t n, T* y);

/// xx[o], xy[o], yy[o] = the sums of x*x, x*y and y*y over row o of `rows`
/// rows of n, summed as in sum_block, from one pass that fetches the next rows
/// into the cache as it goes (a row of 1024 floats is a page, where the
/// hardware prefetchers stop).
template <class T>
void similarity_sums_rows(const T* x, const T* y, std::size_t rows, std::size_t n, T* xx, T* xy, T* yy);

/// Whether some x[i] < 0 (NaN is not): one vectorised pass, split between threads.
template <class T>
bool any_negative(const T* x, std::size_t n);

/// out[o, j] = kx[o] x[o, j] + ky[o] y[o, j] for `rows` rows of n, fetching
/// the next rows as it goes; an output of streamed_output_bytes or more is
/// written with streaming stores (streaming_store.hpp), fenced.
template <class T>
void combine_rows(const T* kx, const T* x, const T* ky, const T* y, std::size_t rows, std::size_t n, T* out);

/// Per row o of `rows` rows of n: ux = sum_j u x and uy = sum_j u y (summed as
/// in sum_block), then k = coefficients(o, ux, uy) and the rows
/// out_0 = k[0] u + k[1] x + k[2] y and out_1 = k[3] u + k[4] x + k[5] y (either
/// skipped when null), written while the row is still in the cache, so that
/// each input is read from memory once: the vector-Jacobian product of a
/// gradient that combines two inputs row by row (cosine_similarity's). The next
/// rows are fetched as it goes; `coefficients` is called from several threads.
template <class T>
void dots_then_combine_rows(const T* u, const T* x, const T* y, std::size_t rows, std::size_t n,
                            const std::function<std::array<T, 6>(std::size_t, T, T)>& coefficients, T* out_0,
                            T* out_1);

/// out[o, r, i] = g[o, i] / divisor: a reduced gradient broadcast back over the input.
template <class T>
void broadcast_block(const T* g, const BlockReduction& b, T divisor, T* out);

/// out[o, r, i] = exp(x[o, r, i] - shift[o, i]) * scale[o, i].
template <class T>
void scaled_exp_block(const T* x, const BlockReduction& b, const T* shift, const T* scale, T* out);

/// out = 0 except out[o, r, i] = g[o, i] at the first r (lowest) where
/// x[o, r, i] == m[o, i]: the gradient of max.
template <class T>
void first_max_gradient_block(const T* x, const BlockReduction& b, const T* m, const T* g, T* out);

}  // namespace xtape::kernels
