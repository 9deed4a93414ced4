// Reductions over a set of axes: sum, mean, max, logsumexp, dot.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "../kernels/elementwise.hpp"
#include "../kernels/math.hpp"
#include "../kernels/reduction.hpp"
#include "../gradient_rows.hpp"
#include "../kernels/simd_loop.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

#include "differentiable.hpp"

namespace xtape {

using detail::tape_of;

namespace {

// The reduced axes, and the input's shape with them kept as size 1: the shape
// in which a gradient of the output broadcasts back over the input.
struct Reduction {
    AxisList axes;
    Shape kept;
    Shape out;
    // The (outer, reduced, inner) form when the reduced axes are one block:
    // the fast kernels' case; otherwise xtensor's reducers do the work.
    std::optional<kernels::BlockReduction> block;

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
        block = kernels::block_reduction(in, axes);
    }
};

// The reduced axes as bits: what a differentiable backward keeps of a
// Reduction (trivially copyable, so its closure needs no allocation).
struct ReducedAxes {
    std::uint64_t bits = 0;

    explicit ReducedAxes(const Reduction& r) {
        for (std::size_t axis : r.axes) {
            if (axis >= 64) throw ShapeError(fmt::format("reduction over axis {}: at most 64 axes are supported", axis));
            bits |= std::uint64_t(1) << axis;
        }
    }
    // The input's shape with each reduced axis of size 1.
    Shape kept(const Shape& in) const {
        Shape kept = in;
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (bits >> i & 1) kept[i] = 1;
        }
        return kept;
    }
    Axes axes(std::size_t rank) const {
        Axes axes;
        for (std::size_t i = 0; i < rank; ++i) {
            if (bits >> i & 1) axes.push_back(static_cast<std::ptrdiff_t>(i));
        }
        return axes;
    }
};

// g (of the output's shape) as a variable broadcast back over input 0's shape.
template <class T>
Var<T> expand_grad(const VarGradContext<T>& c, ReducedAxes reduced) {
    const Shape& in = c.input(0).shape();
    return detail::expand(c.grad(), reduced.kept(in), in);
}

// Broadcasts `g` (of the output's shape) back over the input's shape.
template <class T>
auto expand(const xt::xarray<T>& g, const Shape& kept, const Shape& in) {
    return xt::broadcast(xt::reshape_view(g, kept), in);
}

// The sum of each slice, of shape r.kept, in storage from `tape`.
template <class T>
xt::xarray<T> slice_sum(Tape<T>& tape, const xt::xarray<T>& x, const Reduction& r) {
    xt::xarray<T> s = tape.buffer(r.kept);
    if (r.block) {
        kernels::sum_block(x.data(), *r.block, s.data());
        return s;
    }
    s = xt::sum(x, r.axes);
    s.reshape(r.kept);
    return s;
}

// The largest element of each slice, NaN for a slice holding a NaN and -inf for
// a slice of -inf (xt::amax starts from the lowest finite value and keeps a NaN
// only when it comes last).
template <class T>
xt::xarray<T> slice_max(Tape<T>& tape, const xt::xarray<T>& x, const Reduction& r) {
    xt::xarray<T> m = tape.buffer(r.kept);
    if (r.block) {
        kernels::max_block(x.data(), *r.block, m.data());
        return m;
    }
    auto nan_max = [](T acc, T v) { return (v > acc || v != v) ? v : acc; };
    m = xt::reduce(xt::make_xreducer_functor(nan_max, xt::const_value<T>(-std::numeric_limits<T>::infinity())),
                   x, r.axes);
    m.reshape(r.kept);
    return m;
}

// The shift of logsumexp: each slice's max, or 0 where it is not finite (a
// slice of -inf then gives exp = 0, not NaN).
template <class T>
xt::xarray<T> logsumexp_shift(Tape<T>& tape, const xt::xarray<T>& x, const Reduction& r) {
    xt::xarray<T> m = slice_max(tape, x, r);
    for (T& v : m) v = std::isfinite(v) ? v : T(0);
    return m;
}

// sum_r exp(x - shift) for each slice, of shape r.kept.
template <class T>
xt::xarray<T> sum_exp(const xt::xarray<T>& x, const xt::xarray<T>& shift, const Reduction& r) {
    xt::xarray<T> s = xt::empty<T>(r.kept);
    if (r.block) {
        kernels::sum_exp_block(x.data(), *r.block, shift.data(), s.data());
        return s;
    }
    s = xt::sum(xt::exp(x - shift), r.axes);
    s.reshape(r.kept);
    return s;
}

// g (of the output's shape) broadcast back over the input's shape, divided by
// `divisor`: the gradient of sum (divisor 1) and of mean (divisor n).
template <class T>
xt::xarray<T> broadcast_back(GradContext<T>& c, const Reduction& r, T divisor) {
    const xt::xarray<T>& g = c.grad();
    const Shape& in = c.input(0).shape();
    if (!r.block) return expand(g, r.kept, in) / divisor;
    xt::xarray<T> dx = c.buffer(in);
    kernels::broadcast_block(g.data(), *r.block, divisor, dx.data());
    return dx;
}

// Calls f(flat, slot) for every element of an input of `shape` in row-major
// order, with `slot` the flat index of its slice in r.kept: the general walk
// of a reduction over any axes (so "first" is the lowest flat index).
template <class F>
void for_each_in_slices(const Shape& shape, const Reduction& r, F f) {
    const std::size_t rank = shape.size();
    const std::size_t size = element_count(shape);
    std::vector<std::size_t> index(rank, 0);
    for (std::size_t flat = 0; flat < size; ++flat) {
        std::size_t slot = 0;
        for (std::size_t d = 0; d < rank; ++d) slot = slot * r.kept[d] + (r.kept[d] == 1 ? 0 : index[d]);
        f(flat, slot);
        for (std::size_t d = rank; d-- > 0;) {
            if (++index[d] < shape[d]) break;
            index[d] = 0;
        }
    }
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
    xt::xarray<T> out = slice_sum(a.tape(), a.value(), r);
    out.reshape(r.out);
    return tape_of(a, "sum").record(
        "sum", {a}, std::move(out),
        [r](GradContext<T>& c) { c.accumulate(0, broadcast_back(c, r, T(1))); },  // d sum/da_i = 1
        [reduced = ReducedAxes(r)](VarGradContext<T>& c) { c.accumulate(0, expand_grad(c, reduced)); });
}

template <class T>
Var<T> mean(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "mean", true);
    if (a.size() == 0) return reduce_empty(a, r, "mean");
    std::size_t count = 1;
    for (std::size_t axis : r.axes) count *= a.shape()[axis];
    const T n = static_cast<T>(count);
    xt::xarray<T> out = slice_sum(a.tape(), a.value(), r);
    out /= n;
    out.reshape(r.out);
    return tape_of(a, "mean").record(
        "mean", {a}, std::move(out),
        [r, n](GradContext<T>& c) { c.accumulate(0, broadcast_back(c, r, n)); },  // d mean/da_i = 1/n
        [reduced = ReducedAxes(r), n](VarGradContext<T>& c) { c.accumulate(0, expand_grad(c, reduced) / n); });
}

template <class T>
Var<T> max(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "max", true);
    if (a.size() == 0) return reduce_empty(a, r, "max");
    xt::xarray<T> out = slice_max(a.tape(), a.value(), r);
    out.reshape(r.out);
    return tape_of(a, "max").record("max", {a}, std::move(out), [r](GradContext<T>& c) {
        if (!c.needs_grad(0)) return;
        const auto& x = c.input(0);
        xt::xarray<T> dx = c.buffer(x.shape());
        if (r.block) {
            kernels::first_max_gradient_block(x.data(), *r.block, c.value().data(), c.grad().data(), dx.data());
            c.accumulate(0, std::move(dx));
            return;
        }
        // The gradient goes to the first maximal element of each reduced slice.
        xt::xarray<T> m = xt::reshape_view(c.value(), r.kept);
        xt::xarray<T> g = xt::reshape_view(c.grad(), r.kept);
        dx.fill(T(0));
        std::vector<bool> taken(m.size(), false);
        for_each_in_slices(x.shape(), r, [&](std::size_t flat, std::size_t slot) {
            if (!taken[slot] && x.flat(flat) == m.flat(slot)) {
                dx.flat(flat) = g.flat(slot);
                taken[slot] = true;
            }
        });
        c.accumulate(0, std::move(dx));
    }, [reduced = ReducedAxes(r)](VarGradContext<T>& c) {
        // The same first maximal elements, by position, for a scatter of g.
        const xt::xarray<T>& x = c.input(0).value();
        const Reduction r(x.shape(), reduced.axes(x.dimension()), true, "max", true);
        const xt::xarray<T>& m = c.output().value();
        std::vector<std::size_t> positions(m.size());
        std::vector<bool> taken(m.size(), false);
        for_each_in_slices(x.shape(), r, [&](std::size_t flat, std::size_t slot) {
            if (!taken[slot] && x.flat(flat) == m.flat(slot)) {
                positions[slot] = flat;
                taken[slot] = true;
            }
        });
        c.accumulate_at(0, std::make_shared<const std::vector<std::size_t>>(std::move(positions)));
    });
}

namespace {

// g / s per slice, written into `scale` (of s's size), by which logsumexp's
// gradient scales exp(a - m): 0 for an all -inf slice (s = 0, where exp is 0
// too), NaN for a slice holding a NaN (s is NaN).
template <class T>
xt::xarray<T> gradient_scale(xt::xarray<T> scale, const xt::xarray<T>& g, const xt::xarray<T>& s) {
    for (std::size_t i = 0; i < scale.size(); ++i) scale.flat(i) = s.flat(i) == T(0) ? T(0) : g.flat(i) / s.flat(i);
    return scale;
}

// g * softmax(a) over the reduced axes, g of the kept shape, as primitives:
// exp(a - lse) with the shift 0 where lse is not finite (an all -inf slice,
// whose gradient is 0, as logsumexp's first-order backward has it).
template <class T>
Var<T> composed_scaled_softmax(const Var<T>& a, const Var<T>& g, ReducedAxes reduced) {
    const Shape& in = a.shape();
    const Var<T> lse = logsumexp(a, reduced.axes(in.size()), true);
    const Mask finite = xt::isfinite(lse.value()) || xt::isnan(lse.value());
    const Var<T> shift = where(finite, lse, a.tape().constant(xt::zeros<T>(lse.shape())));
    // One fused node, one pass each way; over rows, the shift and g enter as
    // one value per row, not broadcast in memory.
    return fuse({a, detail::row_values_or_broadcast(shift, in), detail::row_values_or_broadcast(g, in)},
                [](auto v) { return v[2] * exp(v[0] - v[1]); });
}

// g * softmax(a) over contiguous rows (g one value per row), logsumexp's
// gradient as one node from its forward's shift m and total s; its value is
// `scaled_rows` when given (the forward's softmax rows, scaled by g). Its
// backward, dx = g p (u - p.u) and dg = p.u for the incoming u, is one kernel
// where the composition takes several passes; it is differentiated again
// through the composition.
template <class T>
Var<T> scaled_softmax_rows(const Var<T>& a, const Var<T>& g, const xt::xarray<T>& m, const xt::xarray<T>& s,
                           ReducedAxes reduced, std::optional<xt::xarray<T>> scaled_rows) {
    Tape<T>& tape = a.tape();
    const std::size_t rows = g.size();  // at least 1: logsumexp of nothing returns before
    const std::size_t n = a.size() / rows;
    xt::xarray<T> out = scaled_rows ? std::move(*scaled_rows) : tape.buffer(a.shape());
    if (!scaled_rows) {
        const xt::xarray<T> scale = gradient_scale(tape.buffer(g.shape()), g.value(), s);
        kernels::math::scaled_exp_rows(a.value().data(), m.data(), scale.data(), rows, n, out.data());
    }
    return tape.record("scaled_softmax", {a, g}, std::move(out), [rows, n, &m, &s](GradContext<T>& c) {
        // Only the gradients wanted (an empty xt::xarray would still allocate an element).
        std::optional<xt::xarray<T>> dx, dg;
        if (c.needs_grad(0)) dx = c.buffer(c.input(0).shape());
        if (c.needs_grad(1)) dg = c.buffer(c.input(1).shape());
        kernels::math::scaled_softmax_grad_rows(c.input(0).data(), m.data(), s.data(), c.input(1).data(),
                                                c.grad().data(), rows, n, dx ? dx->data() : nullptr,
                                                dg ? dg->data() : nullptr);
        if (dx) c.accumulate(0, std::move(*dx));
        if (dg) c.accumulate(1, std::move(*dg));
    }, [reduced](VarGradContext<T>& c) {
        detail::backward_by_recomposition(c, [reduced](std::span<const Var<T>> v) {
            return composed_scaled_softmax(v[0], v[1], reduced);
        });
    });
}

}  // namespace

template <class T>
Var<T> logsumexp(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "logsumexp", true);
    if (a.size() == 0) return reduce_empty(a, r, "logsumexp");
    // lse = m + log(s), s = sum(exp(a - m)), m the max (0 where not finite).
    // m and s are kept for the backward: d lse/da_i = exp(a_i - m) / s, computed
    // from the shift rather than as exp(a_i - lse): lse is rounded at its own
    // magnitude (0.001 in float at 1e4), a - m is exact near the max. The
    // tape keeps them (Tape::keep).
    Tape<T>& tape = tape_of(a, "logsumexp");
    xt::xarray<T>& m = tape.keep(tape.buffer(r.kept));
    xt::xarray<T>& s = tape.keep(tape.buffer(r.kept));
    const bool rows = r.block && r.block->inner == 1;
    // Over rows, when a gradient is wanted, the gradient rows (the softmax) come
    // from the same pass as the values, and the backward only scales them by
    // the incoming gradient (not at all for the usual 1): the input is read once.
    std::optional<detail::GradientRows<T>> softmax;
    if (rows) {
        if (tape.grad_enabled() && a.requires_grad()) {
            softmax.emplace(1);
            softmax->keep(tape, 0, tape.buffer(a.shape()));
        }
        kernels::math::shifted_sum_exp_rows(a.value().data(), r.block->outer, r.block->reduced, m.data(), s.data(),
                                            softmax ? softmax->rows(0).data() : nullptr);
    } else {
        m = logsumexp_shift(tape, a.value(), r);
        s = sum_exp(a.value(), m, r);
    }
    xt::xarray<T> out = tape.buffer(r.out);
    for (std::size_t i = 0; i < out.size(); ++i) out.flat(i) = std::log(s.flat(i)) + m.flat(i);
    return tape.record("logsumexp", {a}, std::move(out),
                       [r, rows, softmax, &m, &s](GradContext<T>& c) mutable {
        if (!c.needs_grad(0)) return;
        if (softmax && softmax->hand_over(c)) return;  // a second backward recomputes them below
        xt::xarray<T> scale = gradient_scale(c.buffer(r.kept), c.grad(), s);
        const auto& x = c.input(0);
        if (!r.block) {
            xt::xarray<T> e = xt::exp(x - m);
            e *= scale;
            return c.accumulate(0, std::move(e));
        }
        xt::xarray<T> dx = c.buffer(x.shape());
        if (rows) {
            kernels::math::scaled_exp_rows(x.data(), m.data(), scale.data(), r.block->outer, r.block->reduced,
                                           dx.data());
        } else {
            kernels::scaled_exp_block(x.data(), *r.block, m.data(), scale.data(), dx.data());
        }
        c.accumulate(0, std::move(dx));
    }, [reduced = ReducedAxes(r), rows, softmax, &m, &s](VarGradContext<T>& c) {
        // g * softmax(a): over rows one node (from the forward's m and s, and
        // its softmax rows while no backward has taken them) whose backward is
        // the softmax's Jacobian in one pass; else the composition.
        const Var<T> g = reshape(c.grad(), reduced.kept(c.input(0).shape()));
        if (!rows) return c.accumulate(0, composed_scaled_softmax(c.input(0), g, reduced));
        std::optional<xt::xarray<T>> scaled_rows = softmax ? softmax->take(0, g.value()) : std::nullopt;
        c.accumulate(0, scaled_softmax_rows(c.input(0), g, m, s, reduced, std::move(scaled_rows)));
    });
}

template <class T>
Var<T> dot(const Var<T>& a, const Var<T>& b, const Axes& axes, bool keepdims) {
    using B = kernels::Batch<T>;
    Tape<T>& tape = tape_of(a, b, "dot");
    if (a.shape() != b.shape()) {
        throw ShapeError(fmt::format("dot: a of shape {} and b of shape {} differ", to_string(a.shape()),
                                     to_string(b.shape())));
    }
    const Reduction r(a.shape(), axes, keepdims, "dot", false);
    if (a.size() == 0) return reduce_empty(a, r, "dot");
    // Rows reduced along their contiguous length take one pass and no product
    // array; other layouts multiply, then sum.
    const bool rows = r.block && r.block->inner == 1;
    const auto times = [](B x, B y) { return x * y; };
    // Not a default-constructed array assigned later: that one allocates its single element.
    xt::xarray<T> out =
        rows ? tape.buffer(r.out) : slice_sum(tape, kernels::mapped<T>(tape, times, a.value(), b.value()), r);
    if (rows) {
        kernels::dot_rows(a.value().data(), b.value().data(), r.block->outer, r.block->reduced, out.data());
    } else {
        out.reshape(r.out);
    }
    return tape.record("dot", {a, b}, std::move(out), [r, rows, times](GradContext<T>& c) {
        // d dot/da = g b and d dot/db = g a, with g broadcast over the reduced
        // axes; dot(a, a) (a squared norm) gets 2 g a in one pass.
        const auto times_grad = [&](const xt::xarray<T>& other, T factor) {
            if (!rows) {
                xt::xarray<T> d = broadcast_back(c, r, T(1) / factor);  // factor g, exactly (factor 1 or 2)
                kernels::map(d.size(), d.data(), times, d.data(), other.data());
                return d;
            }
            xt::xarray<T> d = c.buffer(other.shape());
            kernels::scale_rows(c.grad().data(), factor, other.data(), r.block->outer, r.block->reduced, d.data());
            return d;
        };
        const bool same_input = &c.input(0) == &c.input(1);
        if (same_input) {
            if (c.needs_grad(0)) c.accumulate(0, times_grad(c.input(0), T(2)));
            return;
        }
        // With g all ones (a seed of 1, as in <grad f, v> for H v), each
        // gradient is the other input itself: lent, not copied.
        const xt::xarray<T>& g = c.grad();
        if (std::all_of(g.begin(), g.end(), [](T x) { return x == T(1); })) {
            c.accumulate_borrowed(0, c.input(1));
            c.accumulate_borrowed(1, c.input(0));
            return;
        }
        if (c.needs_grad(0)) c.accumulate(0, times_grad(c.input(1), T(1)));
        if (c.needs_grad(1)) c.accumulate(1, times_grad(c.input(0), T(1)));
    }, [reduced = ReducedAxes(r)](VarGradContext<T>& c) {
        // g b and g a as one fused node each; over rows, g enters as one value
        // per row, not broadcast in memory. dot(a, a) gets g a + g a as 2 g a
        // (the same value: doubling is exact).
        const Shape& in = c.input(0).shape();
        const Var<T> g = detail::row_values_or_broadcast(reshape(c.grad(), reduced.kept(in)), in);
        const auto times_g = [&](const Var<T>& other, double factor) {
            return fuse({other, g}, [factor](auto v) { return factor == 1 ? v[1] * v[0] : v[1] * v[0] * factor; });
        };
        if (c.input(0).index() == c.input(1).index()) {
            if (c.needs_grad(0)) c.accumulate(0, times_g(c.input(0), 2));
            return;
        }
        if (c.needs_grad(0)) c.accumulate(0, times_g(c.input(1), 1));
        if (c.needs_grad(1)) c.accumulate(1, times_g(c.input(0), 1));
    });
}

template <class T>
Var<T> prod(const Var<T>& a, const Axes& axes, bool keepdims) {
    const Reduction r(a.shape(), axes, keepdims, "prod", false);
    // Each slice's product, and the product of its nonzero elements and their
    // count of zeros: d prod/da_i is the product of the others, prod / a_i
    // without zeros, the nonzero product at a slice's only zero, else 0.
    xt::xarray<T> out = xt::ones<T>(r.kept);
    xt::xarray<T> nonzero = xt::ones<T>(r.kept);
    std::vector<std::size_t> zeros(out.size(), 0);
    const xt::xarray<T>& x = a.value();
    for_each_in_slices(x.shape(), r, [&](std::size_t flat, std::size_t slot) {
        const T v = x.flat(flat);
        out.flat(slot) *= v;
        if (v == T(0)) {
            ++zeros[slot];
        } else {
            nonzero.flat(slot) *= v;
        }
    });
    out.reshape(r.out);
    return tape_of(a, "prod").record("prod", {a}, std::move(out),
                                     [r, nonzero = std::move(nonzero), zeros = std::move(zeros)](GradContext<T>& c) {
        if (!c.needs_grad(0)) return;
        const auto& x = c.input(0);
        const auto& p = c.value();
        const auto& g = c.grad();
        xt::xarray<T> dx = c.buffer(x.shape());
        for_each_in_slices(x.shape(), r, [&](std::size_t flat, std::size_t slot) {
            const T v = x.flat(flat);
            const T others = zeros[slot] == 0 ? p.flat(slot) / v
                             : zeros[slot] == 1 && v == T(0) ? nonzero.flat(slot)
                                                              : T(0);
            dx.flat(flat) = g.flat(slot) * others;
        });
        c.accumulate(0, std::move(dx));
    }, [reduced = ReducedAxes(r)](VarGradContext<T>& c) {
        // The product of the others as prod / a_i, which needs every element
        // nonzero; the exact product of the others has no differentiable form here.
        const xt::xarray<T>& x = c.input(0).value();
        const auto zero = std::find(x.begin(), x.end(), T(0));
        if (zero != x.end()) {
            throw TapeError(fmt::format("backward with create_graph: prod (node #{}) has a zero element (at flat "
                                        "position {}); its second derivative is implemented for nonzero elements only",
                                        c.output().index(), zero - x.begin()));
        }
        const Shape kept = reduced.kept(x.shape());
        c.accumulate(0, expand_grad(c, reduced) * (broadcast_to(reshape(c.output(), kept), x.shape()) / c.input(0)));
    });
}

#define XTAPE_INSTANTIATE(T)                                        \
    template Var<T> prod(const Var<T>&, const Axes&, bool);         \
    template Var<T> dot(const Var<T>&, const Var<T>&, const Axes&, bool); \
    template Var<T> sum(const Var<T>&, const Axes&, bool);          \
    template Var<T> mean(const Var<T>&, const Axes&, bool);         \
    template Var<T> max(const Var<T>&, const Axes&, bool);          \
    template Var<T> logsumexp(const Var<T>&, const Axes&, bool);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
