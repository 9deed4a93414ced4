// Elementwise primitives and their derivatives on one SIMD batch, shared by the
// ops of ops.hpp and by fused programs (fuse.hpp), so that both compute alike.
// Function objects rather than function templates: passed to kernels::map,
// they inline into its loop (a function pointer would be called per batch).
#pragma once

#include <xsimd/xsimd.hpp>

namespace xtape::kernels::rules {

/// max(x, 0), written so that a NaN stays NaN (max(x, 0) may turn it into 0).
inline constexpr auto relu = [](auto x) { return xsimd::select(x < decltype(x)(0), decltype(x)(0), x); };

/// dy for x > 0, and 0 at the kink x = 0.
inline constexpr auto relu_grad = [](auto dy, auto x) {
    return xsimd::select(x > decltype(x)(0), dy, decltype(dy)(0));
};

inline constexpr auto square = [](auto x) { return x * x; };

/// d x^2/dx = 2x.
inline constexpr auto square_grad = [](auto dy, auto x) { return dy * (decltype(x)(2) * x); };

/// d exp(x)/dx = exp(x) = y.
inline constexpr auto exp_grad = [](auto dy, auto y) { return dy * y; };

/// d log(x)/dx = 1/x.
inline constexpr auto log_grad = [](auto dy, auto x) { return dy / x; };

}  // namespace xtape::kernels::rules
