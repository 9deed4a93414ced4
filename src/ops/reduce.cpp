// Reductions over a set of axes: sum, mean, max, logsumexp.
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "xtape/detail/op_support.hpp"
#include "xtape/ops.hpp"

namespace xtape {

using detail::tape_of;

namespace {

// The reduced axes, and the input's shape with them kept as size 1: the shape
// in which a gradient of the output broadcasts back over the input.
struct Reduction {
    std::vector<std::size_t> axes;
    Shape kept;
    Shape out;

    Reduction(const Shape& in, const Axes& requested, bool keepdims, const char* op, bool needs_elements)
        : axes(normalize_axes(requested, in.size(), op)), kept(in) {
        for (std::size_t axis : axes) {
            if (needs_elements && in[axis] == 0) {
                throw ShapeError(fmt::format("{}: cannot reduce axis {} of size 0 (input shape {})", op,
                                             axis, to_string(in)));
            }
            kept[axis] = 1;
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
            const bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
            if (!reduced || keepdims) out.push_back(kept[i]);
        }
    }
};

// Broadcasts `g` (of the output's shape) back over the input's shape.
template <class T>
auto expand(const xt::xarray<T>& g, const Shape& kept, const Shape& in) {
    return xt::broadcast(xt::reshape_view(g, kept), in);
}

// An empty input: xtensor's reducers walk its null data pointer (undefined
// behaviour), and there is nothing to differentiate. Its value is zeros: an
// empty sum (a sum over an axis of size 0), or an output as empty as the input.
template <class T>
Var<T> reduce_empty(const Var<T>& a, const Reduction& r, const char* op) {
    return tape_of(a, op).record(op, {a}, xt::zeros<T>(r.out), nullptr);
}

}  // namespace

template <class T>
Var<T> sum(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "sum", false);
    if (a.size() == 0) return reduce_empty(a, r, "sum");
    xt::xarray<T> out = xt::sum(a.value(), r.axes);
    out.reshape(r.out);
    return tape_of(a, "sum").record("sum", {a}, std::move(out), [kept = r.kept](GradContext<T>& c) {
        c.accumulate(0, expand(c.grad(), kept, c.input(0).shape()));  // d sum/da_i = 1
    });
}

template <class T>
Var<T> mean(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "mean", true);
    if (a.size() == 0) return reduce_empty(a, r, "mean");
    std::size_t count = 1;
    for (std::size_t axis : r.axes) count *= a.shape()[axis];
    const T n = static_cast<T>(count);
    xt::xarray<T> out = xt::sum(a.value(), r.axes);
    out /= n;
    out.reshape(r.out);
    return tape_of(a, "mean").record("mean", {a}, std::move(out), [kept = r.kept, n](GradContext<T>& c) {
        c.accumulate(0, expand(c.grad(), kept, c.input(0).shape()) / n);  // d mean/da_i = 1/n
    });
}

template <class T>
Var<T> max(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "max", true);
    if (a.size() == 0) return reduce_empty(a, r, "max");
    xt::xarray<T> out = xt::amax(a.value(), r.axes);
    out.reshape(r.out);
    return tape_of(a, "max").record("max", {a}, std::move(out), [r](GradContext<T>& c) {
        // The gradient goes to the first maximal element of each reduced slice.
        const auto& x = c.input(0);
        xt::xarray<T> m = xt::reshape_view(c.value(), r.kept);
        xt::xarray<T> g = xt::reshape_view(c.grad(), r.kept);
        xt::xarray<T> dx = xt::zeros<T>(x.shape());
        xt::xarray<bool> taken = xt::zeros<bool>(r.kept);
        // Walk the input in row-major order, so "first" is the lowest flat index.
        const std::size_t rank = x.dimension();
        std::vector<std::size_t> index(rank, 0);
        for (std::size_t flat = 0; flat < x.size(); ++flat) {
            std::size_t slot = 0;
            for (std::size_t d = 0; d < rank; ++d) slot = slot * r.kept[d] + (r.kept[d] == 1 ? 0 : index[d]);
            if (!taken.flat(slot) && x.flat(flat) == m.flat(slot)) {
                dx.flat(flat) = g.flat(slot);
                taken.flat(slot) = true;
            }
            for (std::size_t d = rank; d-- > 0;) {
                if (++index[d] < x.shape()[d]) break;
                index[d] = 0;
            }
        }
        c.accumulate(0, std::move(dx));
    });
}

template <class T>
Var<T> logsumexp(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "logsumexp", true);
    if (a.size() == 0) return reduce_empty(a, r, "logsumexp");
    xt::xarray<T> m = xt::amax(a.value(), r.axes);
    m.reshape(r.kept);
    // A slice of all -inf has max -inf; shift by 0 there so that exp gives 0, not NaN.
    m = xt::where(xt::isfinite(m), m, T(0));
    xt::xarray<T> s = xt::sum(xt::exp(a.value() - m), r.axes);
    s.reshape(r.kept);
    xt::xarray<T> out = xt::log(s) + m;
    out.reshape(r.out);
    return tape_of(a, "logsumexp").record("logsumexp", {a}, std::move(out), [r](GradContext<T>& c) {
        // d lse/da_i = softmax(a)_i = exp(a_i - m) / sum(exp(a - m)), recomputed
        // from the shift m rather than as exp(a_i - lse): lse is rounded at its
        // own magnitude (0.001 in float at 1e4), a - m is exact near the max.
        const auto& x = c.input(0);
        xt::xarray<T> m = xt::amax(x, r.axes);
        m.reshape(r.kept);
        m = xt::where(xt::isfinite(m), m, T(0));
        xt::xarray<T> e = xt::exp(x - m);
        xt::xarray<T> s = xt::sum(e, r.axes);
        s.reshape(r.kept);
        // g / s per slice; 0 for an all -inf slice (s = 0, where e is 0 too).
        xt::xarray<T> scale = xt::where(s > T(0), xt::reshape_view(c.grad(), r.kept) / s, T(0));
        e *= scale;
        c.accumulate(0, std::move(e));
    });
}

#define XTAPE_INSTANTIATE(T)                                        \
    template Var<T> sum(const Var<T>&, const Axes&, bool);          \
    template Var<T> mean(const Var<T>&, const Axes&, bool);         \
    template Var<T> max(const Var<T>&, const Axes&, bool);          \
    template Var<T> logsumexp(const Var<T>&, const Axes&, bool);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
