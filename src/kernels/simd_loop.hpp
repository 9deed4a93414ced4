// Loops over contiguous buffers one SIMD batch at a time: the building block of the hot kernels.
#pragma once

#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

namespace xtape::kernels {

/// The widest SIMD batch of T the build targets (SSE2 by default, wider with -Dnative=true).
template <class T>
using Batch = xsimd::batch<T>;

/// The first `count` (< one batch) values at `src`, then zeros.
template <class T>
Batch<T> load_padded(const T* src, std::size_t count) {
    alignas(64) T lanes[Batch<T>::size] = {};
    std::copy_n(src, count, lanes);
    return Batch<T>::load_aligned(lanes);
}

/// out[i] = f(in_0[i], in_1[i], ...) for i < n, where f takes and returns Batch<T>.
/// The tail shorter than a batch goes through the same f on a zero-padded batch,
/// so every element is computed by the same instructions wherever it sits (a
/// row split into chunks gives bit-identical results). `out` may alias an input.
template <class T, class F, class... In>
void map(std::size_t n, T* out, F f, const In*... in) {
    constexpr std::size_t width = Batch<T>::size;
    std::size_t i = 0;
    for (; i + width <= n; i += width) f(Batch<T>::load_unaligned(in + i)...).store_unaligned(out + i);
    if (i == n) return;
    const std::size_t rest = n - i;
    alignas(64) T result[width];
    f(load_padded(in + i, rest)...).store_aligned(result);
    std::copy_n(result, rest, out + i);
}

/// The sum of f(in_0[i], ...) for i < n, accumulated lane-wise then reduced;
/// padded tail lanes contribute f's value masked to zero.
template <class T, class F, class... In>
T map_sum(std::size_t n, F f, const In*... in) {
    constexpr std::size_t width = Batch<T>::size;
    Batch<T> total(T(0));
    std::size_t i = 0;
    for (; i + width <= n; i += width) total += f(Batch<T>::load_unaligned(in + i)...);
    if (i < n) {
        const std::size_t rest = n - i;
        alignas(64) T values[width];
        f(load_padded(in + i, rest)...).store_aligned(values);
        std::fill(values + rest, values + width, T(0));
        total += Batch<T>::load_aligned(values);
    }
    return xsimd::hadd(total);
}

}  // namespace xtape::kernels
