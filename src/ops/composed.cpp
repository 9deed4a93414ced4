// Ops composed from the primitives: they record no backward of their own, so
// their gradients are the primitives' (and whatever the primitives gain, such
// as second order, they gain too).
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>

#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

namespace {

// The number of elements a reduction over `axes` of `shape` takes per slice;
// throws ShapeError naming `op` for axes out of range or repeated.
std::size_t slice_size(const Shape& shape, const Axes& axes, const char* op) {
    std::size_t n = 1;
    for (std::size_t axis : normalize_axes(axes, shape.size(), op)) n *= shape[axis];
    return n;
}

// variance for `op` (variance or stddev), which its errors name.
template <class T>
Var<T> variance_for(const char* op, const Var<T>& a, const Axes& axes, bool keepdims, std::size_t ddof) {
    const std::size_t n = slice_size(a.shape(), axes, op);
    if (n <= ddof) {
        throw ValueError(fmt::format("{}: ddof {} leaves no degrees of freedom in slices of {} elements "
                                     "(input shape {})",
                                     op, ddof, n, to_string(a.shape())));
    }
    const Var<T> deviation = sub(a, mean(a, axes, true));
    return div(sum(square(deviation), axes, keepdims), static_cast<T>(n - ddof));
}

}  // namespace

template <class T>
Var<T> min(const Var<T>& a, const Axes& axes, bool keepdims) {
    normalize_axes(axes, a.dimension(), "min");  // its errors name min, not the max it runs
    // max's first maximal element of -a is the first minimal element of a.
    return neg(max(neg(a), axes, keepdims));
}

template <class T>
Var<T> variance(const Var<T>& a, const Axes& axes, bool keepdims, std::size_t ddof) {
    return variance_for("variance", a, axes, keepdims, ddof);
}

template <class T>
Var<T> stddev(const Var<T>& a, const Axes& axes, bool keepdims, std::size_t ddof) {
    return sqrt(variance_for("stddev", a, axes, keepdims, ddof));
}

template <class T>
Var<T> norm(const Var<T>& a, double p, const Axes& axes, bool keepdims) {
    if (!(p >= 1)) throw ValueError(fmt::format("norm: p must be at least 1 (or infinity), got {}", p));
    normalize_axes(axes, a.dimension(), "norm");  // its errors name norm, not the sum it runs
    if (p == 1) return sum(abs(a), axes, keepdims);
    if (std::isinf(p)) return max(abs(a), axes, keepdims);
    const Var<T> s = p == 2 ? sum(square(a), axes, keepdims) : sum(pow(abs(a), static_cast<T>(p)), axes, keepdims);
    // s^(1/p) has an infinite slope at 0, where the norm's gradient is taken as
    // 0 (PyTorch's choice): the root is taken of 1 there, and its value and
    // gradient replaced. A NaN sum is not 0 and stays NaN.
    Tape<T>& tape = s.tape();
    const Mask nonzero = xt::not_equal(s.value(), T(0));
    const Var<T> safe = where(nonzero, s, tape.constant(xt::ones<T>(s.shape())));
    const Var<T> root = p == 2 ? sqrt(safe) : pow(safe, static_cast<T>(1 / p));
    return where(nonzero, root, tape.constant(xt::zeros<T>(s.shape())));
}

template <class T>
Var<T> layer_norm(const Var<T>& a, const Axes& axes, std::type_identity_t<T> eps) {
    if (!(eps >= 0) || !std::isfinite(eps)) {
        throw ValueError(fmt::format("layer_norm: eps must be finite and not negative, got {}", eps));
    }
    normalize_axes(axes, a.dimension(), "layer_norm");
    const Var<T> centred = sub(a, mean(a, axes, true));
    return div(centred, sqrt(add(variance(a, axes, true), eps)));
}

template <class T>
Var<T> dropout(const Var<T>& a, double p, Rng& rng, bool training) {
    if (!(p >= 0 && p < 1)) throw ValueError(fmt::format("dropout: p must be in [0, 1), got {}", p));
    if (!training || p == 0) return a;
    // Inverted dropout: the kept elements are scaled by 1/(1 - p) so that the
    // expected value is unchanged and evaluation needs no rescaling.
    const T scale = static_cast<T>(1 / (1 - p));
    xt::xarray<T> mask = xt::empty<T>(a.shape());
    for (T& m : mask) m = uniform01(rng) < p ? T(0) : scale;
    return mul(a, a.tape().constant(std::move(mask)));
}

#define XTAPE_INSTANTIATE(T)                                                              \
    template Var<T> min(const Var<T>&, const Axes&, bool);                                \
    template Var<T> variance(const Var<T>&, const Axes&, bool, std::size_t);              \
    template Var<T> stddev(const Var<T>&, const Axes&, bool, std::size_t);                \
    template Var<T> norm(const Var<T>&, double, const Axes&, bool);                       \
    template Var<T> layer_norm(const Var<T>&, const Axes&, std::type_identity_t<T>);      \
    template Var<T> dropout(const Var<T>&, double, Rng&, bool);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
