// Elementwise primitives and their derivatives on one SIMD batch, shared by the
// ops of ops.hpp and by fused programs (fuse.hpp), so that both compute alike.
#pragma once

#include <xsimd/xsimd.hpp>

namespace xtape::kernels::rules {

/// max(x, 0), written so that a NaN stays NaN (max(x, 0) may turn it into 0).
template <class B>
B relu(B x) {
    return xsimd::select(x < B(0), B(0), x);
}

/// dy for x > 0, and 0 at the kink x = 0.
template <class B>
B relu_grad(B dy, B x) {
    return xsimd::select(x > B(0), dy, B(0));
}

template <class B>
B square(B x) {
    return x * x;
}

/// d x^2/dx = 2x.
template <class B>
B square_grad(B dy, B x) {
    return dy * (B(2) * x);
}

/// d exp(x)/dx = exp(x) = y.
template <class B>
B exp_grad(B dy, B y) {
    return dy * y;
}

/// d log(x)/dx = 1/x.
template <class B>
B log_grad(B dy, B x) {
    return dy / x;
}

}  // namespace xtape::kernels::rules
