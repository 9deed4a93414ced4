// The row kernels (softmax and its kin over contiguous rows), compiled for
// several instruction sets: each call runs the widest one this CPU has. (The
// elementwise ones are the rules' kernels, rules/kernels.hpp.)
#pragma once

#include <cstddef>

namespace xtape::kernels::math {

// Their exps cost tens of instructions per SIMD batch, so these kernels gain
// the most from wide registers. They are built for SSE2, AVX2 with FMA and
// AVX-512 (F, CD, DQ, BW) (math_for_arch.cpp) whatever the build's -march, and
// chosen at run time. Inputs and output may alias. A call on many rows splits
// them between xtape's threads (parallel.hpp), each row computed as on one.

/// out = log_softmax of each of `rows` contiguous rows of n values, computed
/// from x - m with m the row's max (0 when that is not finite).
template <class T>
void log_softmax_rows(const T* x, T* out, std::size_t rows, std::size_t n);

/// dx = g - exp(out) * sum(g) per row: the backward of log_softmax_rows.
template <class T>
void log_softmax_grad_rows(const T* g, const T* out, T* dx, std::size_t rows, std::size_t n);

/// The backward of dx = g - exp(out) * sum(g) (log_softmax_grad_rows) for the
/// gradient u of dx, per row: d_out = -sum(g) exp(out) u and dg = u - exp(out).u;
/// either output may be null.
template <class T>
void log_softmax_grad_backward_rows(const T* u, const T* out, const T* g, std::size_t rows, std::size_t n, T* d_out,
                                    T* dg);

/// y = exp(x - m) / sum(exp(x - m)) per row, m as above.
template <class T>
void softmax_rows(const T* x, T* y, std::size_t rows, std::size_t n);

/// dx = y * (g - sum(g * y)) per row: the backward of softmax_rows.
template <class T>
void softmax_grad_rows(const T* g, const T* y, T* dx, std::size_t rows, std::size_t n);

/// For each of `rows` contiguous rows of n values: shift[r] = the row's max (0
/// when that is not finite) and total[r] = sum(exp(x - shift[r])): logsumexp
/// is shift + log(total). With `softmax` (else null), also its gradient rows
/// from the same pass: softmax[r, :] = exp(x - shift[r]) / total[r] (0 for a
/// row whose total is 0), written with streaming stores when larger than the
/// caches.
template <class T>
void shifted_sum_exp_rows(const T* x, std::size_t rows, std::size_t n, T* shift, T* total, T* softmax = nullptr);

/// out = exp(x - shift[r]) * scale[r] over each row r: the backward of logsumexp
/// with scale = g / total.
template <class T>
void scaled_exp_rows(const T* x, const T* shift, const T* scale, std::size_t rows, std::size_t n, T* out);

/// The backward of out = scale[r] * softmax(x) over each row r, the softmax p
/// given by shift and total as in shifted_sum_exp_rows, for the gradient u of
/// out: dx = scale[r] p (u - p.u) and p_dot_u[r] = p.u (the gradient of
/// scale[r]); either output may be null. A row with total 0 gives 0, one with
/// a NaN total NaN.
template <class T>
void scaled_softmax_grad_rows(const T* x, const T* shift, const T* total, const T* scale, const T* u,
                              std::size_t rows, std::size_t n, T* dx, T* p_dot_u);

}  // namespace xtape::kernels::math
