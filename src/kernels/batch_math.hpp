// Elementwise functions of one SIMD batch, for the kernels compiled per
// instruction set (math_for_arch.cpp, the fused tile kernels). Every function
// is a template over the instruction set A, so each object file's copies carry
// A in their names and never stand in for another set's.
#pragma once

#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

#include "simd_loop.hpp"

namespace xtape::kernels::math {

// The functions of batches below are always inlined: GCC 12 called softplus's
// out of line, once per batch, and then map's two batches in flight could not
// hide each other's latency.

// exp(x) up to the true overflow point. xsimd's exp gives inf as soon as x/ln 2
// rounds to the first exponent past T's range (x > 88.38 in float, 709.44 in
// double), short of where exp(x) really overflows (88.72, 709.78); that top
// band is computed as exp(x - 1) e, with x - 1 exact there.
template <class T, class A>
[[gnu::always_inline]] inline Batch<T, A> exp_to_overflow(Batch<T, A> x) {
    const auto top = x > Batch<T, A>(std::is_same_v<T, float> ? T(88) : T(709));
    const Batch<T, A> y = xsimd::exp(xsimd::select(top, x - T(1), x));
    return xsimd::select(top, y * T(2.718281828459045), y);
}

// exp(-|x|): the one exp that both softplus and sigmoid need, never overflowing.
template <class T, class A>
[[gnu::always_inline]] inline Batch<T, A> exp_minus_abs(Batch<T, A> x) {
    return xsimd::exp(-xsimd::abs(x));
}

// 1/(1+exp(-x)) without overflow, from tail = exp(-|x|): 1/(1+tail) for
// x >= 0 and tail/(1+tail) for x < 0 (NaN stays NaN).
template <class T, class A>
[[gnu::always_inline]] inline Batch<T, A> sigmoid_from_tail(Batch<T, A> x, Batch<T, A> tail) {
    return xsimd::select(x >= Batch<T, A>(T(0)), Batch<T, A>(T(1)), tail) / (T(1) + tail);
}

template <class T, class A>
[[gnu::always_inline]] inline Batch<T, A> stable_sigmoid(Batch<T, A> x) {
    return sigmoid_from_tail(x, exp_minus_abs(x));
}

// log(1 + t) for t in [0, 1] as t p(t), p the degree-9 Chebyshev fit of
// log1p(t)/t on [0, 1] (mpmath.chebyfit(f, [0, 1], 10)), its coefficients
// (highest degree first) rounded to float: at most 1.0 ulp from log1p by
// Horner's rule with FMA (simulated exactly over 20000 random t and every
// power of two). xsimd's general log1p reduces the range with two divisions,
// which cost more than the polynomial.
inline constexpr float log1p_unit_coefficients[] = {
    -0x1.a04acap-9f, 0x1.402f4cp-6f,  -0x1.cdd008p-5f, 0x1.afdde8p-4f, -0x1.38b908p-3f,
    0x1.92b43p-3f,   -0x1.ff0254p-3f, 0x1.554bd6p-2f,  -0x1.ffffb8p-2f, 1.0f};

// Horner's rule over those coefficients, written out by a fold: GCC 12 kept a
// loop (one FMA per iteration, `#pragma GCC unroll` ignored in some
// instantiations), which serialised the two batches map_pair keeps in flight.
template <class A, std::size_t... K>
[[gnu::always_inline]] inline Batch<float, A> log1p_unit_polynomial(Batch<float, A> t, std::index_sequence<K...>) {
    Batch<float, A> acc(log1p_unit_coefficients[0]);
    ((acc = xsimd::fma(acc, t, Batch<float, A>(log1p_unit_coefficients[K + 1]))), ...);
    return acc;
}

template <class A>
[[gnu::always_inline]] inline Batch<float, A> log1p_unit(Batch<float, A> t) {
    constexpr std::size_t degree = std::size(log1p_unit_coefficients) - 1;
    return t * log1p_unit_polynomial<A>(t, std::make_index_sequence<degree>{});
}

// max(x,0) + log1p(exp(-|x|)), from tail = exp(-|x|): exp never overflows,
// log1p keeps the small tail; the select keeps a NaN input NaN. (Double keeps
// xsimd's log1p: a fit to double's precision would need about twice the degree.)
template <class T, class A>
[[gnu::always_inline]] inline Batch<T, A> softplus_from_tail(Batch<T, A> x, Batch<T, A> tail) {
    const Batch<T, A> zero(T(0));
    if constexpr (std::is_same_v<T, float>) {
        return xsimd::select(x < zero, zero, x) + log1p_unit(tail);
    } else {
        return xsimd::select(x < zero, zero, x) + xsimd::log1p(tail);
    }
}

template <class T, class A>
[[gnu::always_inline]] inline Batch<T, A> stable_softplus(Batch<T, A> x) {
    return softplus_from_tail(x, exp_minus_abs(x));
}

}  // namespace xtape::kernels::math
