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

inline constexpr auto abs = [](auto x) { return xsimd::abs(x); };

/// d|x|/dx = sign(x): dy for x > 0, -dy for x < 0, and 0 at the kink x = 0 (and for NaN).
inline constexpr auto abs_grad = [](auto dy, auto x) {
    const decltype(x) zero(0);
    return xsimd::select(x > zero, dy, xsimd::select(x < zero, -dy, zero));
};

/// d exp(x)/dx = exp(x) = y.
inline constexpr auto exp_grad = [](auto dy, auto y) { return dy * y; };

/// The Huber function as MXNet's smooth_l1 and Gluon's HuberLoss write it:
/// |x| > rho ? |x| - rho/2 : (0.5/rho) x^2. A NaN takes the quadratic piece and stays NaN.
template <class B>
struct SmoothL1 {
    B threshold, half_threshold, curvature;
    template <class T>
    explicit SmoothL1(T rho) : threshold(rho), half_threshold(T(0.5) * rho), curvature(T(0.5) / rho) {}
    B operator()(B x) const {
        const B size = xsimd::abs(x);
        return xsimd::select(size > threshold, size - half_threshold, curvature * x * x);
    }
};

/// dy times smooth_l1's slope: sign(x) on the linear pieces; on the quadratic
/// one 2 (0.5/rho) x, the product Gluon's autograd forms (a division would cost
/// more than the pass).
template <class B>
struct SmoothL1Grad {
    B threshold, twice_curvature;
    template <class T>
    explicit SmoothL1Grad(T rho) : threshold(rho), twice_curvature(2 * (T(0.5) / rho)) {}
    B operator()(B dy, B x) const {
        const B one(1);
        return dy * xsimd::select(x > threshold, one, xsimd::select(x < -threshold, -one, twice_curvature * x));
    }
};

/// d log(x)/dx = 1/x.
inline constexpr auto log_grad = [](auto dy, auto x) { return dy / x; };

}  // namespace xtape::kernels::rules
