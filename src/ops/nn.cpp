// Neural-network ops: log_softmax and softmax (fused and stable), matmul.
#include <cmath>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;

namespace {

// `shape` with `axis` kept as size 1: the shape of a per-slice quantity that
// broadcasts back over the slice.
Shape kept_shape(const Shape& shape, std::size_t axis) {
    Shape kept = shape;
    kept[axis] = 1;
    return kept;
}

// a - max(a) along `axis`, the max taken as 0 for a slice without a finite
// element (so that an all -inf slice does not make -inf - -inf = NaN).
template <class T>
xt::xarray<T> shifted_by_max(const xt::xarray<T>& a, std::size_t axis) {
    xt::xarray<T> m = xt::amax(a, {axis});
    m.reshape(kept_shape(a.shape(), axis));
    return a - xt::where(xt::isfinite(m), m, T(0));
}

// The sum of g along `axis`, kept as size 1.
template <class T, class E>
xt::xarray<T> sum_along(E&& g, const Shape& shape, std::size_t axis) {
    xt::xarray<T> s = xt::sum(std::forward<E>(g), {axis});
    s.reshape(kept_shape(shape, axis));
    return s;
}

}  // namespace

template <class T>
Var<T> log_softmax(const Var<T>& a, std::ptrdiff_t axis) {
    Tape<T>& tape = tape_of(a, "log_softmax");
    const std::size_t ax = normalize_axis(axis, a.dimension(), "log_softmax");
    xt::xarray<T> out;
    if (a.size() == 0) {
        out = a.value();
    } else {
        // log_softmax(a) = z - log(sum(exp(z))) with z = a - max(a): exp(z) <= 1.
        out = shifted_by_max(a.value(), ax);
        out -= xt::log(sum_along<T>(xt::exp(out), out.shape(), ax));
    }
    return tape.record("log_softmax", {a}, std::move(out), [ax](GradContext<T>& c) {
        // d/da: g - softmax(a) * sum(g, axis), with softmax(a) = exp(log_softmax(a))
        const auto& g = c.grad();
        c.accumulate(0, g - xt::exp(c.value()) * sum_along<T>(g, g.shape(), ax));
    });
}

template <class T>
Var<T> softmax(const Var<T>& a, std::ptrdiff_t axis) {
    Tape<T>& tape = tape_of(a, "softmax");
    const std::size_t ax = normalize_axis(axis, a.dimension(), "softmax");
    xt::xarray<T> out;
    if (a.size() == 0) {
        out = a.value();
    } else {
        out = xt::exp(shifted_by_max(a.value(), ax));
        out /= sum_along<T>(out, out.shape(), ax);
    }
    return tape.record("softmax", {a}, std::move(out), [ax](GradContext<T>& c) {
        // d/da: y * (g - sum(g * y, axis)) with y = softmax(a)
        const auto& g = c.grad();
        const auto& y = c.value();
        c.accumulate(0, y * (g - sum_along<T>(g * y, g.shape(), ax)));
    });
}

#define XTAPE_INSTANTIATE(T)                                   \
    template Var<T> log_softmax(const Var<T>&, std::ptrdiff_t); \
    template Var<T> softmax(const Var<T>&, std::ptrdiff_t);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
