// Elementwise unary ops: each forward beside its derivative.
#include <cmath>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;

template <class T>
Var<T> neg(const Var<T>& a) {
    return tape_of(a, "neg").record("neg", {a}, -a.value(), [](GradContext<T>& c) {
        c.accumulate(0, -c.grad());  // d(-a)/da = -1
    });
}

template <class T>
Var<T> exp(const Var<T>& a) {
    return tape_of(a, "exp").record("exp", {a}, xt::exp(a.value()), [](GradContext<T>& c) {
        c.accumulate(0, c.grad() * c.value());  // d exp(a)/da = exp(a)
    });
}

template <class T>
Var<T> log(const Var<T>& a) {
    return tape_of(a, "log").record("log", {a}, xt::log(a.value()), [](GradContext<T>& c) {
        c.accumulate(0, c.grad() / c.input(0));  // d log(a)/da = 1/a
    });
}

template <class T>
Var<T> log1p(const Var<T>& a) {
    return tape_of(a, "log1p").record("log1p", {a}, xt::log1p(a.value()), [](GradContext<T>& c) {
        c.accumulate(0, c.grad() / (c.input(0) + T(1)));  // d log(1+a)/da = 1/(1+a)
    });
}

template <class T>
Var<T> sqrt(const Var<T>& a) {
    return tape_of(a, "sqrt").record("sqrt", {a}, xt::sqrt(a.value()), [](GradContext<T>& c) {
        c.accumulate(0, c.grad() / (T(2) * c.value()));  // d sqrt(a)/da = 1/(2 sqrt(a))
    });
}

template <class T>
Var<T> square(const Var<T>& a) {
    return tape_of(a, "square").record("square", {a}, a.value() * a.value(), [](GradContext<T>& c) {
        c.accumulate(0, c.grad() * (T(2) * c.input(0)));  // d a^2/da = 2a
    });
}

template <class T>
Var<T> pow(const Var<T>& a, std::type_identity_t<T> p) {
    return tape_of(a, "pow").record("pow", {a}, xt::pow(a.value(), p), [p](GradContext<T>& c) {
        c.accumulate(0, c.grad() * (p * xt::pow(c.input(0), p - T(1))));  // d a^p/da = p a^(p-1)
    });
}

template <class T>
Var<T> abs(const Var<T>& a) {
    return tape_of(a, "abs").record("abs", {a}, xt::abs(a.value()), [](GradContext<T>& c) {
        // d|a|/da = sign(a), and 0 at the kink a = 0
        const auto& x = c.input(0);
        c.accumulate(0, xt::where(x > T(0), c.grad(), xt::where(x < T(0), -c.grad(), T(0))));
    });
}

template <class T>
Var<T> relu(const Var<T>& a) {
    // Not xt::maximum, which turns NaN into 0: a NaN input stays NaN.
    xt::xarray<T> out = a.value();
    for (T& v : out) {
        if (v < T(0)) v = T(0);
    }
    return tape_of(a, "relu").record("relu", {a}, std::move(out), [](GradContext<T>& c) {
        // d max(a,0)/da = 1 for a > 0, and 0 at the kink a = 0
        c.accumulate(0, xt::where(c.input(0) > T(0), c.grad(), T(0)));
    });
}

namespace {
// 1/(1+exp(-x)) without overflow: exp of a non-positive number only.
template <class T>
T stable_sigmoid(T x) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
}
}  // namespace

template <class T>
Var<T> sigmoid(const Var<T>& a) {
    xt::xarray<T> out = xt::empty<T>(a.shape());
    std::transform(a.value().begin(), a.value().end(), out.begin(), stable_sigmoid<T>);
    return tape_of(a, "sigmoid").record("sigmoid", {a}, std::move(out), [](GradContext<T>& c) {
        c.accumulate(0, c.grad() * c.value() * (T(1) - c.value()));  // s' = s (1 - s)
    });
}

template <class T>
Var<T> tanh(const Var<T>& a) {
    return tape_of(a, "tanh").record("tanh", {a}, xt::tanh(a.value()), [](GradContext<T>& c) {
        c.accumulate(0, c.grad() * (T(1) - c.value() * c.value()));  // tanh' = 1 - tanh^2
    });
}

template <class T>
Var<T> softplus(const Var<T>& a) {
    xt::xarray<T> out = xt::empty<T>(a.shape());
    // max(x,0) + log1p(exp(-|x|)): exp never overflows, log1p keeps the small tail.
    std::transform(a.value().begin(), a.value().end(), out.begin(),
                   [](T x) { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); });
    return tape_of(a, "softplus").record("softplus", {a}, std::move(out), [](GradContext<T>& c) {
        // d softplus(a)/da = sigmoid(a), exactly 0.5 at 0
        xt::xarray<T> g = xt::empty<T>(c.input(0).shape());
        std::transform(c.input(0).begin(), c.input(0).end(), c.grad().begin(), g.begin(),
                       [](T x, T dy) { return dy * stable_sigmoid(x); });
        c.accumulate(0, std::move(g));
    });
}

template <class T>
Var<T> clip(const Var<T>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
    if (!(lo <= hi)) throw ValueError(fmt::format("clip: lo = {} is greater than hi = {}", lo, hi));
    return tape_of(a, "clip").record("clip", {a}, xt::clip(a.value(), lo, hi), [lo, hi](GradContext<T>& c) {
        // 1 inside [lo, hi] (bounds included), 0 where the value was clipped
        const auto& x = c.input(0);
        c.accumulate(0, xt::where(x >= lo && x <= hi, c.grad(), T(0)));
    });
}

template <class T>
Var<T> where(const Mask& mask, const Var<T>& a, const Var<T>& b) {
    Tape<T>& tape = tape_of(a, b, "where");
    const Shape ab = broadcast_shapes(a.shape(), b.shape(), "where", "a", "b");
    broadcast_shapes(ab, mask.shape(), "where", "a and b", "mask");
    // xtensor 0.24 with xsimd 8 selects wrongly when xt::where reads a stored
    // bool array (float and double alike), so the mask is turned into T once
    // and compared: a comparison of T values gives xsimd a proper mask of T.
    xt::xarray<T> selector = xt::cast<T>(mask);
    xt::xarray<T> out = xt::where(xt::not_equal(selector, T(0)), a.value(), b.value());
    return tape.record("where", {a, b}, std::move(out), [selector = std::move(selector)](GradContext<T>& c) {
        // The gradient flows to a where the mask holds, to b elsewhere.
        if (c.needs_grad(0)) c.accumulate(0, xt::where(xt::not_equal(selector, T(0)), c.grad(), T(0)));
        if (c.needs_grad(1)) c.accumulate(1, xt::where(xt::not_equal(selector, T(0)), T(0), c.grad()));
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
    template Var<T> clip(const Var<T>&, T, T);                           \
    template Var<T> where(const Mask&, const Var<T>&, const Var<T>&);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
