// The kernels of math.hpp written once over xsimd batches of instruction set
// XTAPE_KERNEL_ARCH; meson compiles this file once per instruction set, each
// time with that set's -m flags.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <type_traits>
#include <utility>

#include "batch_math.hpp"
#include "math_arch.hpp"
#include "simd_loop.hpp"
#include "streaming_store.hpp"

#ifndef XTAPE_KERNEL_ARCH
#error "XTAPE_KERNEL_ARCH names the xsimd instruction set to compile for (meson sets it)"
#endif

namespace xtape::kernels::math {

namespace {

using Arch = XTAPE_KERNEL_ARCH;

template <class T>
using B = Batch<T, Arch>;

// The max of a row, taken as 0 when it is not finite: the shift of the stable
// softmax (an all -inf row does not give -inf - -inf). With `next`, the row
// after it (of n elements too) is fetched into the cache along the way: the
// hardware prefetchers stop at a page, and a row of 1024 floats is one.
template <class T>
T row_shift(const T* x, std::size_t n, const T* next = nullptr) {
    constexpr std::size_t width = B<T>::size;
    constexpr std::size_t line = cache_line_bytes / sizeof(T);
    T m = -std::numeric_limits<T>::infinity();
    std::size_t i = 0;
    if (next != nullptr) __builtin_prefetch(next);
    if (n >= width) {
        B<T> best = B<T>::load_unaligned(x);
        for (i = width; i + width <= n; i += width) {
            if (next != nullptr && i % line == 0) __builtin_prefetch(next + i);
            best = xsimd::max(best, B<T>::load_unaligned(x + i));
        }
        alignas(64) T lanes[width];
        best.store_aligned(lanes);
        for (T v : lanes) m = v > m ? v : m;
    }
    if (next != nullptr) {
        for (std::size_t j = (i + line - 1) / line * line; j < n; j += line) __builtin_prefetch(next + j);
    }
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    return std::isfinite(m) ? m : T(0);
}

// Forward of log_softmax over contiguous rows shorter than a SIMD batch (a few
// classes): each row would go through the padded tail twice, so the exps of the
// whole block run as one flat pass and the per-row work is scalar.
template <class T>
void log_softmax_short_rows(const T* x, T* out, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r) {
        const T m = row_shift(x + r * n, n);
        for (std::size_t j = r * n; j < (r + 1) * n; ++j) out[j] = x[j] - m;
    }
    map<T, Arch>(rows * n, out, [](B<T> z) { return xsimd::exp(z); }, out);
    for (std::size_t r = 0; r < rows; ++r) {
        T total = 0;
        for (std::size_t j = r * n; j < (r + 1) * n; ++j) total += out[j];
        const T log_total = std::log(total);
        // The shift is found again rather than kept: out held the exps, and a
        // few compares per row cost less than a scratch array.
        const T m = row_shift(x + r * n, n);
        for (std::size_t j = r * n; j < (r + 1) * n; ++j) out[j] = (x[j] - m) - log_total;
    }
}

}  // namespace

// The members are written for ArchMath<A, T> but instantiated (at the end) only
// for A = Arch, the instruction set this object is compiled for.

// out = (x - m) - log(sum(exp(x - m))) per row.
template <class A, class T>
void ArchMath<A, T>::log_softmax_rows(const T* x, T* out, std::size_t rows, std::size_t n) {
    if (n < B<T>::size) return log_softmax_short_rows(x, out, rows, n);
    for (std::size_t r = 0; r < rows; ++r, x += n, out += n) {
        const B<T> m(row_shift(x, n));
        const B<T> log_total(std::log(map_sum<T, Arch>(n, [m](B<T> v) { return xsimd::exp(v - m); }, x)));
        map<T, Arch>(n, out, [m, log_total](B<T> v) { return (v - m) - log_total; }, x);
    }
}

// Rows shorter than a SIMD batch take one flat pass for the exps, as forward.
template <class A, class T>
void ArchMath<A, T>::log_softmax_grad_rows(const T* g, const T* out, T* dx, std::size_t rows, std::size_t n) {
    if (n < B<T>::size) {
        map<T, Arch>(rows * n, dx, [](B<T> o) { return xsimd::exp(o); }, out);
        for (std::size_t r = 0; r < rows; ++r) {
            T total = 0;
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) total += g[j];
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) dx[j] = g[j] - dx[j] * total;
        }
        return;
    }
    for (std::size_t r = 0; r < rows; ++r, g += n, out += n, dx += n) {
        const B<T> total(map_sum<T, Arch>(n, [](B<T> v) { return v; }, g));
        map<T, Arch>(n, dx, [total](B<T> gv, B<T> o) { return gv - xsimd::exp(o) * total; }, g, out);
    }
}

// Two passes per row, the row in the cache for the second: sum(g) and p.u
// first (p = exp(out)), then the outputs.
template <class A, class T>
void ArchMath<A, T>::log_softmax_grad_backward_rows(const T* u, const T* out, const T* g, std::size_t rows,
                                                    std::size_t n, T* d_out, T* dg) {
    for (std::size_t r = 0; r < rows; ++r, u += n, out += n, g += n) {
        const T p_dot_u = map_sum<T, Arch>(n, [](B<T> uv, B<T> o) { return xsimd::exp(o) * uv; }, u, out);
        if (dg != nullptr) map<T, Arch>(n, dg + r * n, [c = B<T>(p_dot_u)](B<T> uv) { return uv - c; }, u);
        if (d_out == nullptr) continue;
        const B<T> minus_total(-map_sum<T, Arch>(n, [](B<T> v) { return v; }, g));
        map<T, Arch>(n, d_out + r * n, [minus_total](B<T> uv, B<T> o) { return minus_total * xsimd::exp(o) * uv; },
                     u, out);
    }
}

template <class A, class T>
void ArchMath<A, T>::softmax_rows(const T* x, T* y, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r, x += n, y += n) {
        const B<T> m(row_shift(x, n));
        map<T, Arch>(n, y, [m](B<T> v) { return xsimd::exp(v - m); }, x);
        const B<T> total(map_sum<T, Arch>(n, [](B<T> v) { return v; }, y));
        map<T, Arch>(n, y, [total](B<T> v) { return v / total; }, y);
    }
}

template <class A, class T>
void ArchMath<A, T>::softmax_grad_rows(const T* g, const T* y, T* dx, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r, g += n, y += n, dx += n) {
        const B<T> total(map_sum<T, Arch>(n, [](B<T> gv, B<T> yv) { return gv * yv; }, g, y));
        map<T, Arch>(n, dx, [total](B<T> gv, B<T> yv) { return yv * (gv - total); }, g, y);
    }
}

namespace {

// to[0:n] = from[0:n], streamed or copied.
template <class T>
void put(bool stream, std::size_t n, const T* from, T* to) {
    if (stream) return arch_stream_copy<Arch, T>(n, from, to);
    std::copy_n(from, n, to);
}

// 1 / total, the factor that makes exps a softmax; 0 for a row whose total is
// 0 (all -inf, where the exps are 0 too), as logsumexp's backward has it. A
// row holding a NaN has a NaN total, and its whole softmax is NaN, as torch's.
template <class T>
T inverse_total(T total) {
    return total == T(0) ? T(0) : T(1) / total;
}

// Rows shorter than a SIMD batch (a few classes) would each go through the
// padded tail: their shifted values go through exp together, a block of rows
// at a time, and the per-row work is scalar (as log_softmax_short_rows).
template <class T>
void shifted_sum_exp_short_rows(const T* x, std::size_t rows, std::size_t n, T* shift, T* total, T* softmax,
                                bool stream) {
    constexpr std::size_t block = 256;  // values per exp pass, on the stack
    alignas(64) T exps[block];
    const std::size_t rows_per_block = block / n;
    for (std::size_t first = 0; first < rows; first += rows_per_block) {
        const std::size_t count = rows - first < rows_per_block ? rows - first : rows_per_block;
        for (std::size_t r = first; r < first + count; ++r) {
            shift[r] = row_shift(x + r * n, n);
            for (std::size_t j = 0; j < n; ++j) exps[(r - first) * n + j] = x[r * n + j] - shift[r];
        }
        map<T, Arch>(count * n, exps, [](B<T> z) { return xsimd::exp(z); }, exps);
        for (std::size_t r = 0; r < count; ++r) {
            T sum = 0;
            for (std::size_t j = 0; j < n; ++j) sum += exps[r * n + j];
            total[first + r] = sum;
        }
        if (softmax == nullptr) continue;
        for (std::size_t r = 0; r < count; ++r) {
            const T k = inverse_total(total[first + r]);
            for (std::size_t j = 0; j < n; ++j) exps[r * n + j] *= k;
        }
        put(stream, count * n, exps, softmax + first * n);
    }
}

}  // namespace

template <class A, class T>
void ArchMath<A, T>::shifted_sum_exp_rows(const T* x, std::size_t rows, std::size_t n, T* shift, T* total,
                                          T* softmax) {
    // A softmax larger than the caches is staged a row at a time (on the stack,
    // in the L1 cache) and streamed; rows longer than the stage are written
    // and scaled in place.
    constexpr std::size_t stage_elements = 4096;
    const bool stream =
        softmax != nullptr && n <= stage_elements && rows * n * sizeof(T) >= streamed_output_bytes;
    if (n < B<T>::size) {
        shifted_sum_exp_short_rows(x, rows, n, shift, total, softmax, stream);
    } else if (softmax == nullptr) {
        for (std::size_t r = 0; r < rows; ++r, x += n) {
            shift[r] = row_shift(x, n, r + 1 < rows ? x + n : nullptr);
            total[r] = map_sum<T, Arch>(n, [m = B<T>(shift[r])](B<T> v) { return xsimd::exp(v - m); }, x);
        }
    } else {
        alignas(64) T stage[stage_elements];
        for (std::size_t r = 0; r < rows; ++r, x += n, softmax += n) {
            T* exps = stream ? stage : softmax;
            shift[r] = row_shift(x, n, r + 1 < rows ? x + n : nullptr);
            map<T, Arch>(n, exps, [m = B<T>(shift[r])](B<T> v) { return xsimd::exp(v - m); }, x);
            total[r] = map_sum<T, Arch>(n, [](B<T> v) { return v; }, exps);
            map<T, Arch>(n, exps, [k = B<T>(inverse_total(total[r]))](B<T> v) { return v * k; }, exps);
            if (stream) arch_stream_copy<Arch, T>(n, stage, softmax);
        }
    }
    if (stream) store_fence();
}

// Short rows as in shifted_sum_exp_rows: one flat exp pass over the whole block.
template <class A, class T>
void ArchMath<A, T>::scaled_exp_rows(const T* x, const T* shift, const T* scale, std::size_t rows, std::size_t n,
                                     T* out) {
    if (n < B<T>::size) {
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) out[j] = x[j] - shift[r];
        }
        map<T, Arch>(rows * n, out, [](B<T> z) { return xsimd::exp(z); }, out);
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t j = r * n; j < (r + 1) * n; ++j) out[j] *= scale[r];
        }
        return;
    }
    // In parts, each fetching the same part of the next row (a row of 1024
    // floats is a page, where the hardware prefetchers stop); an output larger
    // than the caches is staged part by part and streamed to memory.
    constexpr std::size_t part = 256;
    constexpr std::size_t line = cache_line_bytes / sizeof(T);
    const bool stream = rows * n * sizeof(T) >= streamed_output_bytes;
    alignas(64) T staged[part];
    for (std::size_t r = 0; r < rows; ++r, x += n, out += n) {
        const auto scaled_exp = [m = B<T>(shift[r]), k = B<T>(scale[r])](B<T> v) { return xsimd::exp(v - m) * k; };
        for (std::size_t begin = 0; begin < n; begin += part) {
            const std::size_t count = std::min(part, n - begin);
            if (r + 1 < rows) {
                for (std::size_t j = begin; j < begin + count; j += line) __builtin_prefetch(x + n + j);
            }
            if (!stream) {
                map<T, Arch>(count, out + begin, scaled_exp, x + begin);
                continue;
            }
            map<T, Arch>(count, staged, scaled_exp, x + begin);
            arch_stream_copy<A, T>(count, staged, out + begin);
        }
    }
    if (stream) store_fence();
}

// Two passes per row, the row in the cache for the second: p.u first, then dx.
// The exps are computed twice: keeping them in a stage between the passes
// measured no faster (docs/performance.md, 2026-12-06 session 5).
template <class A, class T>
void ArchMath<A, T>::scaled_softmax_grad_rows(const T* x, const T* shift, const T* total, const T* scale,
                                              const T* u, std::size_t rows, std::size_t n, T* dx, T* p_dot_u) {
    for (std::size_t r = 0; r < rows; ++r, x += n, u += n) {
        const B<T> m(shift[r]);
        const T k = inverse_total(total[r]);
        const T c = k * map_sum<T, Arch>(n, [m](B<T> xv, B<T> uv) { return xsimd::exp(xv - m) * uv; }, x, u);
        if (p_dot_u != nullptr) p_dot_u[r] = c;
        if (dx == nullptr) continue;
        map<T, Arch>(n, dx + r * n, [m, kg = B<T>(k * scale[r]), cv = B<T>(c)](B<T> xv, B<T> uv) {
            return xsimd::exp(xv - m) * kg * (uv - cv);
        }, x, u);
    }
}

template struct ArchMath<XTAPE_KERNEL_ARCH, float>;
template struct ArchMath<XTAPE_KERNEL_ARCH, double>;

}  // namespace xtape::kernels::math
