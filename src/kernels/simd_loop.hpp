// Loops over contiguous buffers one SIMD batch at a time: the building block of the hot kernels.
#pragma once

#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace xtape::kernels {

/// A SIMD batch of T for instruction set A: by default the widest the build
/// targets (SSE2, or the host's with -Dnative=true); the kernels of math.hpp are
/// compiled for several and pick one at run time.
template <class T, class A = xsimd::default_arch>
using Batch = xsimd::batch<T, A>;

/// Clears the upper halves of the vector registers after code for A when A is
/// AVX or wider. GCC 12 leaves them dirty when a function returns a scalar that
/// it last held in a wide register (map_sum's result), and the caller's SSE code
/// then pays on every instruction (a small logsumexp slowed down several times).
template <class A>
inline void clean_upper_state() {
#if defined(__AVX__)
    if constexpr (Batch<float, A>::size >= 8) _mm256_zeroupper();
#endif
}

// A tail shorter than a batch moves with one masked load or store where the
// instruction set has them (AVX-512): element by element, GCC makes the copy a
// call of memcpy, and an array of a few elements is all tail (the tape's
// per-op cost). Elsewhere the loops copy lane by lane rather than with
// <algorithm>: an std:: template instantiated in an AVX-512 translation unit
// could be the copy the linker keeps for every caller, and then run on a CPU
// without it.
template <class A>
inline constexpr bool has_masked_moves = std::is_base_of_v<xsimd::avx512f, A>;

#if defined(__AVX512F__)
/// The mask of a register's first `count` lanes (at most 16), for the masked moves.
inline unsigned first_lanes(std::size_t count) { return (1u << count) - 1; }
#endif

/// The first `count` (< one batch) values at `src`, then zeros.
template <class T, class A = xsimd::default_arch>
Batch<T, A> load_padded(const T* src, std::size_t count) {
#if defined(__AVX512F__)
    if constexpr (has_masked_moves<A>) {
        if constexpr (std::is_same_v<T, float>) {
            return _mm512_maskz_loadu_ps(static_cast<__mmask16>(first_lanes(count)), src);
        } else {
            return _mm512_maskz_loadu_pd(static_cast<__mmask8>(first_lanes(count)), src);
        }
    }
#endif
    alignas(64) T lanes[Batch<T, A>::size] = {};
    for (std::size_t i = 0; i < count; ++i) lanes[i] = src[i];
    return Batch<T, A>::load_aligned(lanes);
}

/// Stores the first `count` (< one batch) lanes of `v` at `dst`.
template <class T, class A>
void store_first(Batch<T, A> v, T* dst, std::size_t count) {
#if defined(__AVX512F__)
    if constexpr (has_masked_moves<A>) {
        if constexpr (std::is_same_v<T, float>) {
            _mm512_mask_storeu_ps(dst, static_cast<__mmask16>(first_lanes(count)), v);
        } else {
            _mm512_mask_storeu_pd(dst, static_cast<__mmask8>(first_lanes(count)), v);
        }
        return;
    }
#endif
    alignas(64) T lanes[Batch<T, A>::size];
    v.store_aligned(lanes);
    for (std::size_t j = 0; j < count; ++j) dst[j] = lanes[j];
}

/// out[i] = f(in_0[i], in_1[i], ...) for i < n, where f takes and returns Batch<T, A>.
/// The tail shorter than a batch goes through the same f on a zero-padded batch,
/// so every element is computed by the same instructions wherever it sits (a
/// row split into chunks gives bit-identical results). `out` may alias an input.
/// map, map_pair and map_sum are flattened: f and all it calls are inlined
/// into the loop (GCC 12 called larger f out of line, once per batch).
template <class T, class A = xsimd::default_arch, class F, class... In>
[[gnu::flatten]] void map(std::size_t n, T* out, F f, const In*... in) {
    using B = Batch<T, A>;
    constexpr std::size_t width = B::size;
    std::size_t i = 0;
    for (; i + width <= n; i += width) f(B::load_unaligned(in + i)...).store_unaligned(out + i);
    if (i == n) return;
    store_first<T, A>(f(load_padded<T, A>(in + i, n - i)...), out + i, n - i);
    clean_upper_state<A>();  // GCC 12 may return after a masked store without its vzeroupper
}

/// first[i], second[i] = f(in_0[i], in_1[i], ...) for i < n, where f returns a
/// std::pair of batches: two results that share their work. Two batches go
/// through f side by side: f is often one long dependent chain (exp, a
/// polynomial), and the second batch fills the first one's latency.
/// Otherwise as map.
template <class T, class A = xsimd::default_arch, class F, class... In>
[[gnu::flatten]] void map_pair(std::size_t n, T* first, T* second, F f, const In*... in) {
    using B = Batch<T, A>;
    constexpr std::size_t width = B::size;
    std::size_t i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
        const auto [first_0, second_0] = f(B::load_unaligned(in + i)...);
        const auto [first_1, second_1] = f(B::load_unaligned(in + i + width)...);
        first_0.store_unaligned(first + i);
        second_0.store_unaligned(second + i);
        first_1.store_unaligned(first + i + width);
        second_1.store_unaligned(second + i + width);
    }
    for (; i + width <= n; i += width) {
        const auto [first_i, second_i] = f(B::load_unaligned(in + i)...);
        first_i.store_unaligned(first + i);
        second_i.store_unaligned(second + i);
    }
    if (i == n) return;
    const auto [first_i, second_i] = f(load_padded<T, A>(in + i, n - i)...);
    store_first<T, A>(first_i, first + i, n - i);
    store_first<T, A>(second_i, second + i, n - i);
    clean_upper_state<A>();  // as map's
}

/// The sum of f(in_0[i], ...) for i < n, accumulated lane-wise then reduced;
/// padded tail lanes contribute f's value masked to zero.
template <class T, class A = xsimd::default_arch, class F, class... In>
[[gnu::flatten]] T map_sum(std::size_t n, F f, const In*... in) {
    using B = Batch<T, A>;
    constexpr std::size_t width = B::size;
    B total(T(0));
    std::size_t i = 0;
    for (; i + width <= n; i += width) total += f(B::load_unaligned(in + i)...);
    if (i < n) {
        const std::size_t rest = n - i;
        alignas(64) T values[width];
        f(load_padded<T, A>(in + i, rest)...).store_aligned(values);
        for (std::size_t j = rest; j < width; ++j) values[j] = T(0);
        total += B::load_aligned(values);
    }
    const T sum = xsimd::hadd(total);
    clean_upper_state<A>();
    return sum;
}

}  // namespace xtape::kernels
