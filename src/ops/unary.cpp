// Elementwise unary ops: each forward beside its derivative, each one SIMD pass.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "../kernels/elementwise.hpp"
#include "../kernels/elementwise_rules.hpp"
#include "../kernels/math.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;
using kernels::mapped;
using kernels::transformed;

template <class T>
Var<T> neg(const Var<T>& a) {
    using B = kernels::Batch<T>;
    auto negate = [](B x) { return -x; };
    return tape_of(a, "neg").record("neg", {a}, mapped<T>(a.tape(), negate, a.value()), [negate](GradContext<T>& c) {
        c.accumulate(0, mapped<T>(c, negate, c.grad()));  // d(-a)/da = -1
    });
}

template <class T>
Var<T> exp(const Var<T>& a) {
    xt::xarray<T> out = transformed<T>(a.tape(), kernels::math::exp<T>, a.value());
    return tape_of(a, "exp").record("exp", {a}, std::move(out), [](GradContext<T>& c) {
        // d exp(a)/da = exp(a)
        c.accumulate(0, mapped<T>(c, kernels::rules::exp_grad, c.grad(), c.value()));
    });
}

template <class T>
Var<T> log(const Var<T>& a) {
    xt::xarray<T> out = transformed<T>(a.tape(), kernels::math::log<T>, a.value());
    return tape_of(a, "log").record("log", {a}, std::move(out), [](GradContext<T>& c) {
        // d log(a)/da = 1/a
        c.accumulate(0, mapped<T>(c, kernels::rules::log_grad, c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> log1p(const Var<T>& a) {
    using B = kernels::Batch<T>;
    xt::xarray<T> out = transformed<T>(a.tape(), kernels::math::log1p<T>, a.value());
    return tape_of(a, "log1p").record("log1p", {a}, std::move(out), [](GradContext<T>& c) {
        // d log(1+a)/da = 1/(1+a)
        c.accumulate(0, mapped<T>(c, [](B dy, B x) { return dy / (x + T(1)); }, c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> sqrt(const Var<T>& a) {
    using B = kernels::Batch<T>;
    xt::xarray<T> out = mapped<T>(a.tape(), [](B x) { return xsimd::sqrt(x); }, a.value());
    return tape_of(a, "sqrt").record("sqrt", {a}, std::move(out), [](GradContext<T>& c) {
        // d sqrt(a)/da = 1/(2 sqrt(a))
        c.accumulate(0, mapped<T>(c, [](B dy, B y) { return dy / (T(2) * y); }, c.grad(), c.value()));
    });
}

template <class T>
Var<T> square(const Var<T>& a) {
    xt::xarray<T> out = mapped<T>(a.tape(), kernels::rules::square, a.value());
    return tape_of(a, "square").record("square", {a}, std::move(out), [](GradContext<T>& c) {
        c.accumulate(0, mapped<T>(c, kernels::rules::square_grad, c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> pow(const Var<T>& a, std::type_identity_t<T> p) {
    // One scalar pass of std::pow: xsimd's pow is exp(p log|a|), less accurate
    // for large results and wrong at a = 0 (0^0 = 0, 0^-1 = 0).
    xt::xarray<T> out = xt::empty<T>(a.shape());
    std::transform(a.value().begin(), a.value().end(), out.begin(), [p](T x) { return std::pow(x, p); });
    return tape_of(a, "pow").record("pow", {a}, std::move(out), [p](GradContext<T>& c) {
        // d a^p/da = p a^(p-1)
        xt::xarray<T> g = xt::empty<T>(c.input(0).shape());
        std::transform(c.grad().begin(), c.grad().end(), c.input(0).begin(), g.begin(),
                       [p](T dy, T x) { return dy * (p * std::pow(x, p - T(1))); });
        c.accumulate(0, std::move(g));
    });
}

template <class T>
Var<T> abs(const Var<T>& a) {
    xt::xarray<T> out = mapped<T>(a.tape(), kernels::rules::abs, a.value());
    return tape_of(a, "abs").record("abs", {a}, std::move(out), [](GradContext<T>& c) {
        c.accumulate(0, mapped<T>(c, kernels::rules::abs_grad, c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> relu(const Var<T>& a) {
    xt::xarray<T> out = mapped<T>(a.tape(), kernels::rules::relu, a.value());
    return tape_of(a, "relu").record("relu", {a}, std::move(out), [](GradContext<T>& c) {
        c.accumulate(0, mapped<T>(c, kernels::rules::relu_grad, c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> sigmoid(const Var<T>& a) {
    using B = kernels::Batch<T>;
    xt::xarray<T> out = transformed<T>(a.tape(), kernels::math::sigmoid<T>, a.value());
    return tape_of(a, "sigmoid").record("sigmoid", {a}, std::move(out), [](GradContext<T>& c) {
        // s' = s (1 - s)
        c.accumulate(0, mapped<T>(c, [](B dy, B s) { return dy * s * (T(1) - s); }, c.grad(), c.value()));
    });
}

template <class T>
Var<T> tanh(const Var<T>& a) {
    using B = kernels::Batch<T>;
    xt::xarray<T> out = transformed<T>(a.tape(), kernels::math::tanh<T>, a.value());
    return tape_of(a, "tanh").record("tanh", {a}, std::move(out), [](GradContext<T>& c) {
        // tanh' = 1 - tanh^2
        c.accumulate(0, mapped<T>(c, [](B dy, B y) { return dy * (T(1) - y * y); }, c.grad(), c.value()));
    });
}

template <class T>
Var<T> softplus(const Var<T>& a) {
    xt::xarray<T> out = transformed<T>(a.tape(), kernels::math::softplus<T>, a.value());
    return tape_of(a, "softplus").record("softplus", {a}, std::move(out), [](GradContext<T>& c) {
        // d softplus(a)/da = sigmoid(a), exactly 0.5 at 0
        c.accumulate(0, transformed<T>(c, kernels::math::times_sigmoid<T>, c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> smooth_l1(const Var<T>& a, std::type_identity_t<T> rho) {
    using B = kernels::Batch<T>;
    if (!(rho > T(0))) throw ValueError(fmt::format("smooth_l1: rho must be positive, got {}", rho));
    xt::xarray<T> out = mapped<T>(a.tape(), kernels::rules::SmoothL1<B>(rho), a.value());
    return tape_of(a, "smooth_l1").record("smooth_l1", {a}, std::move(out), [rho](GradContext<T>& c) {
        c.accumulate(0, mapped<T>(c, kernels::rules::SmoothL1Grad<B>(rho), c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> clip(const Var<T>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
    using B = kernels::Batch<T>;
    if (!(lo <= hi)) throw ValueError(fmt::format("clip: lo = {} is greater than hi = {}", lo, hi));
    // As xt::clip: lo below lo, hi above hi, else the value (NaN stays NaN).
    xt::xarray<T> out = mapped<T>(a.tape(), 
        [low = B(lo), high = B(hi)](B x) { return xsimd::select(x < low, low, xsimd::select(high < x, high, x)); },
        a.value());
    return tape_of(a, "clip").record("clip", {a}, std::move(out), [lo, hi](GradContext<T>& c) {
        // 1 inside [lo, hi] (bounds included), 0 where the value was clipped
        c.accumulate(0, mapped<T>(c, [low = B(lo), high = B(hi), zero = B(T(0))](
                                      B dy, B x) { return xsimd::select(x >= low && x <= high, dy, zero); },
                                  c.grad(), c.input(0)));
    });
}

template <class T>
Var<T> where(const Mask& mask, const Var<T>& a, const Var<T>& b) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, b, "where");
    const Shape ab = broadcast_shapes(a.shape(), b.shape(), "where", "a", "b");
    broadcast_shapes(ab, mask.shape(), "where", "a and b", "mask");
    // xtensor 0.24 with xsimd 8 selects wrongly when xt::where reads a stored
    // bool array (float and double alike), so the mask is turned into T once
    // (1 where it holds, else 0) and compared: a comparison of T values gives
    // xsimd a proper mask of T. One plain pass over the bools does it.
    xt::xarray<T> selector = xt::empty<T>(mask.shape());
    std::transform(mask.data(), mask.data() + mask.size(), selector.data(), [](bool m) { return T(m); });
    const bool flat = kernels::shapes_agree(selector, a.value(), b.value());
    auto pick = [zero = B(T(0))](B m, B x, B y) { return xsimd::select(m != zero, x, y); };
    xt::xarray<T> out = flat ? mapped<T>(tape, pick, selector, a.value(), b.value())
                             : xt::xarray<T>(xt::where(xt::not_equal(selector, T(0)), a.value(), b.value()));
    return tape.record("where", {a, b}, std::move(out), [flat, selector = std::move(selector)](GradContext<T>& c) {
        // The gradient flows to a where the mask holds, to b elsewhere.
        const auto& g = c.grad();
        if (flat) {
            auto to_a = [zero = B(T(0))](B m, B dy) { return xsimd::select(m != zero, dy, zero); };
            auto to_b = [zero = B(T(0))](B m, B dy) { return xsimd::select(m != zero, zero, dy); };
            if (c.needs_grad(0)) c.accumulate(0, mapped<T>(c, to_a, selector, g));
            if (c.needs_grad(1)) c.accumulate(1, mapped<T>(c, to_b, selector, g));
        } else {
            if (c.needs_grad(0)) c.accumulate(0, xt::where(xt::not_equal(selector, T(0)), g, T(0)));
            if (c.needs_grad(1)) c.accumulate(1, xt::where(xt::not_equal(selector, T(0)), T(0), g));
        }
    });
}

#define XTAPE_INSTANTIATE(T)                                             \
    template Var<T> neg(const Var<T>&);                                  \
    template Var<T> exp(const Var<T>&);                                  \
    template Var<T> log(const Var<T>&);                                  \
    template Var<T> log1p(const Var<T>&);                                \
    template Var<T> sqrt(const Var<T>&);                                 \
    template Var<T> square(const Var<T>&);                               \
    template Var<T> pow(const Var<T>&, T);                               \
    template Var<T> abs(const Var<T>&);                                  \
    template Var<T> relu(const Var<T>&);                                 \
    template Var<T> sigmoid(const Var<T>&);                              \
    template Var<T> tanh(const Var<T>&);                                 \
    template Var<T> softplus(const Var<T>&);                             \
    template Var<T> smooth_l1(const Var<T>&, T);                        \
    template Var<T> clip(const Var<T>&, T, T);                           \
    template Var<T> where(const Mask&, const Var<T>&, const Var<T>&);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
