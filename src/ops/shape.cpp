// Shape ops: reshape, transpose, swapaxes, broadcast_to, slice, concat, stack, gather, pick.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xstrided_view.hpp>

#include "../kernels/axis_layout.hpp"
#include "xtape/detail/op_support.hpp"
#include "xtape/detail/sum_to.hpp"
#include "xtape/ops.hpp"

#include "differentiable.hpp"

namespace xtape {

using detail::tape_of;

namespace {

// "[1, 0]": the multi-index of flat position `flat` in a row-major array of `shape`.
std::string position_of(std::size_t flat, const Shape& shape) {
    std::vector<std::size_t> index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = flat % shape[d];
        flat /= shape[d];
    }
    return fmt::format("[{}]", fmt::join(index, ", "));
}


// `value` with its axes permuted (output axis i is input axis axes[i]), in an
// array from `storage`'s buffers. A matrix is transposed in 8 x 8 blocks, each
// block's output rows written contiguously: xtensor's strided assignment steps
// one element at a time through its index, several times slower, and larger
// blocks or strided writes collide in the cache's sets when a row's length is
// a power of two (docs/performance.md).
template <class T, class Storage>
xt::xarray<T> permuted(Storage& storage, const xt::xarray<T>& value, const std::vector<std::size_t>& axes) {
    if (!(axes.size() == 2 && axes[0] == 1)) return xt::transpose(value, axes);
    const std::size_t rows = value.shape()[0], cols = value.shape()[1];
    xt::xarray<T> out = storage.buffer({cols, rows});
    constexpr std::size_t block = 8;
    const T* in = value.data();
    T* to = out.data();
    for (std::size_t i0 = 0; i0 < rows; i0 += block) {
        for (std::size_t j0 = 0; j0 < cols; j0 += block) {
            for (std::size_t j = j0; j < std::min(j0 + block, cols); ++j) {
                for (std::size_t i = i0; i < std::min(i0 + block, rows); ++i) to[j * rows + i] = in[i * cols + j];
            }
        }
    }
    return out;
}

// Throws ValueError unless every index lies in [0, n), naming the first offender.
// `index` holds indices, or whole numbers that to_indices accepted.
template <class Index>
void check_indices_in_range(const Index& index, std::size_t n, std::size_t axis, const Shape& shape,
                            const char* op) {
    for (std::size_t k = 0; k < index.size(); ++k) {
        const auto i = static_cast<std::int64_t>(index.flat(k));
        if (i < 0 || static_cast<std::uint64_t>(i) >= n) {
            throw ValueError(fmt::format("{}: index {} at {} is out of range [0, {}) for axis {} of a of shape {}",
                                         op, i, position_of(k, index.shape()), n, axis, to_string(shape)));
        }
    }
}

// Writes into a strided view go through xt::noalias: xtensor 0.24's operator=
// on a strided view of an xarray builds its temporary with a wrong type and
// corrupts memory.

// The slice vector selecting start:stop:step along `axis` and everything elsewhere.
xt::xstrided_slice_vector range_along(std::size_t rank, std::size_t axis, std::size_t start, std::size_t stop,
                                      std::size_t step) {
    xt::xstrided_slice_vector sv(rank, xt::all());
    sv[axis] = xt::range(start, stop, step);
    return sv;
}

// The slice vector selecting position k of `axis` (dropping the axis).
xt::xstrided_slice_vector index_along(std::size_t rank, std::size_t axis, std::size_t k) {
    xt::xstrided_slice_vector sv(rank, xt::all());
    sv[axis] = k;
    return sv;
}

// Checks that every part is live and on the tape of the first; returns that tape.
template <class T>
Tape<T>& common_tape(const std::vector<Var<T>>& parts, const char* op) {
    if (parts.empty()) throw ShapeError(fmt::format("{}: needs at least one array, got none", op));
    Tape<T>& tape = tape_of(parts[0], op);
    for (std::size_t k = 1; k < parts.size(); ++k) tape_of(parts[0], parts[k], op);
    return tape;
}

}  // namespace

template <class T>
Var<T> reshape(const Var<T>& a, const Shape& shape) {
    Tape<T>& tape = tape_of(a, "reshape");
    if (element_count(shape) != a.size()) {
        throw ShapeError(fmt::format("reshape: cannot reshape a of shape {} ({} elements) to shape {} ({} elements)",
                                     to_string(a.shape()), a.size(), to_string(shape), element_count(shape)));
    }
    xt::xarray<T> out = tape.buffer(shape);
    std::copy_n(a.value().data(), a.size(), out.data());
    return tape.record("reshape", {a}, std::move(out), [](GradContext<T>& c) {
        // One plain copy (a reshape_view would be assigned element by element
        // through a stepper).
        xt::xarray<T> dx = c.buffer(c.input(0).shape());
        std::copy_n(c.grad().data(), dx.size(), dx.data());
        c.accumulate(0, std::move(dx));
    }, [](VarGradContext<T>& c) { c.accumulate(0, reshape(c.grad(), c.input(0).shape())); });
}

template <class T>
Var<T> transpose(const Var<T>& a, const Axes& perm) {
    Tape<T>& tape = tape_of(a, "transpose");
    const std::size_t rank = a.dimension();
    std::vector<std::size_t> axes(rank);
    if (perm.empty()) {
        std::iota(axes.rbegin(), axes.rend(), std::size_t(0));
    } else {
        if (perm.size() != rank) {
            throw ShapeError(fmt::format("transpose: permutation ({}) has {} axes, a of shape {} has {}",
                                         fmt::join(perm, ", "), perm.size(), to_string(a.shape()), rank));
        }
        std::vector<bool> seen(rank, false);
        for (std::size_t i = 0; i < rank; ++i) {
            axes[i] = normalize_axis(perm[i], rank, "transpose");
            if (seen[axes[i]]) {
                throw ShapeError(fmt::format("transpose: ({}) is not a permutation of the axes of a of shape {}",
                                             fmt::join(perm, ", "), to_string(a.shape())));
            }
            seen[axes[i]] = true;
        }
    }
    // Output axis i is input axis axes[i]; the gradient goes back by the inverse.
    std::vector<std::size_t> inverse(rank);
    for (std::size_t i = 0; i < rank; ++i) inverse[axes[i]] = i;
    xt::xarray<T> out = permuted(tape, a.value(), axes);
    Axes inverse_axes(inverse.begin(), inverse.end());
    return tape.record(
        "transpose", {a}, std::move(out),
        [inverse = std::move(inverse)](GradContext<T>& c) { c.accumulate(0, permuted(c, c.grad(), inverse)); },
        [inverse = std::move(inverse_axes)](VarGradContext<T>& c) { c.accumulate(0, transpose(c.grad(), inverse)); });
}

template <class T>
Var<T> swapaxes(const Var<T>& a, std::ptrdiff_t axis1, std::ptrdiff_t axis2) {
    Tape<T>& tape = tape_of(a, "swapaxes");
    const std::size_t i = normalize_axis(axis1, a.dimension(), "swapaxes");
    const std::size_t j = normalize_axis(axis2, a.dimension(), "swapaxes");
    std::vector<std::size_t> perm(a.dimension());
    std::iota(perm.begin(), perm.end(), std::size_t(0));
    std::swap(perm[i], perm[j]);
    xt::xarray<T> out = permuted(tape, a.value(), perm);
    // Swapping is its own inverse.
    return tape.record(
        "swapaxes", {a}, std::move(out),
        [perm = std::move(perm)](GradContext<T>& c) { c.accumulate(0, permuted(c, c.grad(), perm)); },
        [i, j](VarGradContext<T>& c) {
            c.accumulate(0, swapaxes(c.grad(), static_cast<std::ptrdiff_t>(i), static_cast<std::ptrdiff_t>(j)));
        });
}

template <class T>
Var<T> broadcast_to(const Var<T>& a, const Shape& shape) {
    Tape<T>& tape = tape_of(a, "broadcast_to");
    if (!broadcasts_to(a.shape(), shape)) {
        throw ShapeError(fmt::format("broadcast_to: a of shape {} does not broadcast to shape {}",
                                     to_string(a.shape()), to_string(shape)));
    }
    xt::xarray<T> out = tape.buffer(shape);
    detail::broadcast_copy(a.value(), out);
    // Either way the gradient is summed back to a's shape by accumulate.
    return tape.record(
        "broadcast_to", {a}, std::move(out), [](GradContext<T>& c) { c.accumulate(0, c.grad()); },
        [](VarGradContext<T>& c) { c.accumulate(0, c.grad()); });
}

namespace {

// The positions start, start + step, ... below stop along one axis of a
// row-major array: rows of `inner` contiguous elements, `count` of them in
// each of the `outer` blocks. slice reads them; its gradient writes them.
struct SliceRows {
    kernels::AxisLayout whole;
    std::size_t start;
    std::size_t stop;
    std::size_t step;
    std::size_t count;

    SliceRows(const Shape& shape, std::size_t axis, std::size_t start, std::size_t stop, std::size_t step)
        : whole(shape, axis), start(start), stop(stop), step(step),
          count(stop > start ? (stop - start - 1) / step + 1 : 0) {}

    Shape part_shape(const Shape& shape, std::size_t axis) const {
        Shape part = shape;
        part[axis] = count;
        return part;
    }
    // Calls f(offset in the whole array, offset in the slice) for each row.
    template <class F>
    void for_each_row(F f) const {
        for (std::size_t o = 0; o < whole.outer; ++o) {
            for (std::size_t r = 0; r < count; ++r) {
                f((o * whole.n + start + r * step) * whole.inner, (o * count + r) * whole.inner);
            }
        }
    }
    template <class T>
    void take(const T* from_whole, T* part) const {
        for_each_row([&](std::size_t w, std::size_t p) { std::copy_n(from_whole + w, whole.inner, part + p); });
    }
    // Zeros except the slice, which is `part`.
    template <class T>
    void put(const T* part, T* to_whole) const {
        std::fill_n(to_whole, whole.outer * whole.n * whole.inner, T(0));
        for_each_row([&](std::size_t w, std::size_t p) { std::copy_n(part + p, whole.inner, to_whole + w); });
    }
};

// Zeros of `shape` holding g at the slice `rows` along `axis`: slice's
// gradient, whose own gradient is the slice.
template <class T>
Var<T> unslice(const Var<T>& g, const SliceRows& rows, std::size_t axis, const Shape& shape) {
    Tape<T>& tape = tape_of(g, "unslice");
    xt::xarray<T> out = tape.buffer(shape);
    rows.put(g.value().data(), out.data());
    return tape.record(
        "unslice", {g}, std::move(out),
        [rows](GradContext<T>& c) {
            xt::xarray<T> dg = c.buffer(c.input(0).shape());
            rows.take(c.grad().data(), dg.data());
            c.accumulate(0, std::move(dg));
        },
        [rows, axis](VarGradContext<T>& c) {
            c.accumulate(0, slice(c.grad(), static_cast<std::ptrdiff_t>(axis), rows.start, rows.stop, rows.step));
        });
}

}  // namespace

template <class T>
Var<T> slice(const Var<T>& a, std::ptrdiff_t axis, std::size_t start, std::size_t stop, std::size_t step) {
    Tape<T>& tape = tape_of(a, "slice");
    const std::size_t ax = normalize_axis(axis, a.dimension(), "slice");
    const std::size_t size = a.shape()[ax];
    if (!(start <= stop && stop <= size) || step == 0) {
        throw ShapeError(fmt::format("slice: range {}:{}:{} does not fit axis {} of size {} (a of shape {}); "
                                     "need 0 <= start <= stop <= size and step >= 1",
                                     start, stop, step, ax, size, to_string(a.shape())));
    }
    const SliceRows rows(a.shape(), ax, start, stop, step);
    xt::xarray<T> out = tape.buffer(rows.part_shape(a.shape(), ax));
    rows.take(a.value().data(), out.data());
    return tape.record("slice", {a}, std::move(out), [rows](GradContext<T>& c) {
        // The gradient lands on the selected elements; the others get 0.
        xt::xarray<T> dx = c.buffer(c.input(0).shape());
        rows.put(c.grad().data(), dx.data());
        c.accumulate(0, std::move(dx));
    }, [rows, ax](VarGradContext<T>& c) { c.accumulate(0, unslice(c.grad(), rows, ax, c.input(0).shape())); });
}

template <class T>
Var<T> concat(const std::vector<Var<T>>& parts, std::ptrdiff_t axis) {
    Tape<T>& tape = common_tape(parts, "concat");
    const Shape& first = parts[0].shape();
    const std::size_t ax = normalize_axis(axis, first.size(), "concat");
    Shape out_shape = first;
    out_shape[ax] = 0;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        const Shape& s = parts[k].shape();
        bool fits = s.size() == first.size();
        for (std::size_t d = 0; fits && d < s.size(); ++d) fits = d == ax || s[d] == first[d];
        if (!fits) {
            throw ShapeError(fmt::format("concat: part {} of shape {} does not match part 0 of shape {} "
                                         "except along axis {}",
                                         k, to_string(s), to_string(first), ax));
        }
        out_shape[ax] += s[ax];
    }
    xt::xarray<T> out = xt::empty<T>(out_shape);
    std::size_t offset = 0;
    for (const Var<T>& part : parts) {
        const std::size_t n = part.shape()[ax];
        xt::noalias(xt::strided_view(out, range_along(out.dimension(), ax, offset, offset + n, 1))) = part.value();
        offset += n;
    }
    const std::size_t count = parts.size();
    return tape.record("concat", std::span<const Var<T>>(parts), std::move(out), [ax, count](GradContext<T>& c) {
        // Each part gets its own stretch of the gradient along the axis.
        const auto& g = c.grad();
        std::size_t begin = 0;
        for (std::size_t k = 0; k < count; ++k) {
            const std::size_t n = c.input(k).shape()[ax];
            if (c.needs_grad(k)) {
                c.accumulate(k, xt::strided_view(g, range_along(g.dimension(), ax, begin, begin + n, 1)));
            }
            begin += n;
        }
    }, [ax, count](VarGradContext<T>& c) {
        std::size_t begin = 0;
        for (std::size_t k = 0; k < count; ++k) {
            const std::size_t n = c.input(k).shape()[ax];
            if (c.needs_grad(k)) c.accumulate(k, slice(c.grad(), static_cast<std::ptrdiff_t>(ax), begin, begin + n));
            begin += n;
        }
    });
}

template <class T>
Var<T> stack(const std::vector<Var<T>>& parts, std::ptrdiff_t axis) {
    Tape<T>& tape = common_tape(parts, "stack");
    const Shape& first = parts[0].shape();
    const std::size_t ax = normalize_axis(axis, first.size() + 1, "stack");
    for (std::size_t k = 1; k < parts.size(); ++k) {
        if (parts[k].shape() != first) {
            throw ShapeError(fmt::format("stack: part {} of shape {} differs from part 0 of shape {}", k,
                                         to_string(parts[k].shape()), to_string(first)));
        }
    }
    // first's axes with the new one of size parts.size() at ax (written out:
    // svector::insert draws a false -Warray-bounds from GCC 12 at -O3).
    Shape out_shape(first.size() + 1);
    for (std::size_t d = 0; d < out_shape.size(); ++d) {
        out_shape[d] = d < ax ? first[d] : d == ax ? parts.size() : first[d - 1];
    }
    xt::xarray<T> out = xt::empty<T>(out_shape);
    for (std::size_t k = 0; k < parts.size(); ++k) {
        xt::noalias(xt::strided_view(out, index_along(out.dimension(), ax, k))) = parts[k].value();
    }
    const std::size_t count = parts.size();
    return tape.record("stack", std::span<const Var<T>>(parts), std::move(out), [ax, count](GradContext<T>& c) {
        // Part k gets the slice at position k of the new axis.
        const auto& g = c.grad();
        for (std::size_t k = 0; k < count; ++k) {
            if (c.needs_grad(k)) c.accumulate(k, xt::strided_view(g, index_along(g.dimension(), ax, k)));
        }
    }, [ax, count](VarGradContext<T>& c) {
        for (std::size_t k = 0; k < count; ++k) {
            if (!c.needs_grad(k)) continue;
            c.accumulate(k, reshape(slice(c.grad(), static_cast<std::ptrdiff_t>(ax), k, k + 1), c.input(k).shape()));
        }
    });
}

namespace {

// gather from inputs[0] at `index`; an index given as a Var is inputs[1], an
// input of the node (so the graph shows it) whose gradient is zero: the result
// is piecewise constant in it.
template <class T>
Var<T> gather_from(std::span<const Var<T>> inputs, const IndexArray& index, std::ptrdiff_t axis) {
    const Var<T>& a = inputs[0];
    Tape<T>& tape = tape_of(a, "gather");
    const Shape& shape = a.shape();
    const std::size_t ax = normalize_axis(axis, shape.size(), "gather");
    bool fits = index.dimension() == shape.size();
    for (std::size_t d = 0; fits && d < shape.size(); ++d) fits = d == ax || index.shape()[d] == shape[d];
    if (!fits) {
        throw ShapeError(fmt::format("gather: index of shape {} must have the shape of a {} except along axis {}",
                                     to_string(index.shape()), to_string(shape), ax));
    }
    check_indices_in_range(index, shape[ax], ax, shape, "gather");
    const kernels::AxisLayout from(shape, ax);
    const kernels::AxisLayout to(index.shape(), ax);
    // Visits every output element with the flat position of its source in a.
    auto for_each = [from, to](const IndexArray& idx, auto&& visit) {
        for (std::size_t o = 0; o < to.outer; ++o) {
            for (std::size_t j = 0; j < to.n; ++j) {
                for (std::size_t i = 0; i < to.inner; ++i) {
                    const std::size_t dst = (o * to.n + j) * to.inner + i;
                    const auto src = (o * from.n + static_cast<std::size_t>(idx.flat(dst))) * from.inner + i;
                    visit(dst, src);
                }
            }
        }
    };
    xt::xarray<T> out = xt::empty<T>(index.shape());
    const auto& x = a.value();
    for_each(index, [&](std::size_t dst, std::size_t src) { out.flat(dst) = x.flat(src); });
    return tape.record("gather", inputs, std::move(out), [index, for_each](GradContext<T>& c) {
        // Scatter-add: an element gathered twice gets both gradients.
        const auto& g = c.grad();
        xt::xarray<T> dx = xt::zeros<T>(c.input(0).shape());
        for_each(index, [&](std::size_t dst, std::size_t src) { dx.flat(src) += g.flat(dst); });
        c.accumulate(0, std::move(dx));
    }, [index, for_each](VarGradContext<T>& c) {
        std::vector<std::size_t> positions(index.size());
        for_each(index, [&](std::size_t dst, std::size_t src) { positions[dst] = src; });
        c.accumulate_at(0, std::make_shared<const std::vector<std::size_t>>(std::move(positions)));
    });
}

// Where pick reads: output element dst = (o, i) is a's element (o, index[dst], i)
// for a laid out as `layout` along the picked axis (a size-1 axis in the index
// does not change the flat order, so both index shapes read alike).
struct PickedPositions {
    kernels::AxisLayout layout;

    // The flat position in a of output element `dst`, picked at `index`.
    std::size_t operator()(std::size_t dst, std::size_t index) const {
        const std::size_t o = dst / layout.inner, i = dst % layout.inner;
        return (o * layout.n + index) * layout.inner + i;
    }
};

// pick from inputs[0] at `index`; an index given as a Var is inputs[1], as in
// gather_from, and `index` is then null: pick reads inputs[1]'s values (whole
// numbers, checked by the caller) where and when it needs them.
template <class T>
Var<T> pick_from(std::span<const Var<T>> inputs, const IndexArray* index, std::ptrdiff_t axis, bool keepdims) {
    const Var<T>& a = inputs[0];
    Tape<T>& tape = tape_of(a, "pick");
    const Shape& shape = a.shape();
    const std::size_t ax = normalize_axis(axis, shape.size(), "pick");
    Shape dropped = shape;
    dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(ax));
    Shape kept = shape;
    kept[ax] = 1;
    const Shape& index_shape = index ? index->shape() : inputs[1].shape();
    if (index_shape != dropped && index_shape != kept) {
        throw ShapeError(fmt::format("pick: index of shape {} must have shape {} or {} (a of shape {} without "
                                     "axis {}, or with it of size 1)",
                                     to_string(index_shape), to_string(dropped), to_string(kept),
                                     to_string(shape), ax));
    }
    if (index) {
        check_indices_in_range(*index, shape[ax], ax, shape, "pick");
    } else {
        check_indices_in_range(inputs[1].value(), shape[ax], ax, shape, "pick");
    }
    const PickedPositions position{kernels::AxisLayout(shape, ax)};
    // The index of output element dst, from `index` when given, else from the values of inputs[1].
    const auto index_at = [](const std::optional<IndexArray>& index, const xt::xarray<T>& values, std::size_t dst) {
        return index ? static_cast<std::size_t>(index->flat(dst)) : static_cast<std::size_t>(values.flat(dst));
    };
    std::optional<IndexArray> own_index;
    if (index) own_index = *index;
    const xt::xarray<T>& index_values = index ? a.value() : inputs[1].value();  // read only without `index`
    xt::xarray<T> out = tape.buffer(keepdims ? kept : dropped);
    for (std::size_t dst = 0; dst < out.size(); ++dst) {
        out.flat(dst) = a.value().flat(position(dst, index_at(own_index, index_values, dst)));
    }
    return tape.record(
        "pick", inputs, std::move(out),
        [position, index_at, own_index](GradContext<T>& c) {
            // Each picked element gets its output's gradient; the rest get 0.
            const xt::xarray<T>& values = own_index ? c.input(0) : c.input(1);
            c.accumulate_at(0, [&](std::size_t dst) { return position(dst, index_at(own_index, values, dst)); },
                            std::span<const T>(c.grad().data(), c.grad().size()));
        },
        [position, index_at, own_index](VarGradContext<T>& c) {
            const xt::xarray<T>& values = own_index ? c.input(0).value() : c.input(1).value();
            std::vector<std::size_t> positions(c.grad().size());
            for (std::size_t dst = 0; dst < positions.size(); ++dst) {
                positions[dst] = position(dst, index_at(own_index, values, dst));
            }
            c.accumulate_at(0, std::make_shared<const std::vector<std::size_t>>(std::move(positions)));
        });
}

}  // namespace

template <class T>
Var<T> gather(const Var<T>& a, const IndexArray& index, std::ptrdiff_t axis) {
    return gather_from(std::span<const Var<T>>(&a, 1), index, axis);
}

template <class T>
Var<T> pick(const Var<T>& a, const IndexArray& index, std::ptrdiff_t axis, bool keepdims) {
    return pick_from(std::span<const Var<T>>(&a, 1), &index, axis, keepdims);
}

namespace {
// Throws ValueError naming `op`, as to_indices does, unless element k of
// `values` is a whole number that is an index.
template <class T>
void check_whole_index(const xt::xarray<T>& values, std::size_t k, const char* op) {
    // 2^53: no index is that large, and below it the cast to int64 is defined.
    constexpr T limit = T(9007199254740992.0);
    const T v = values.flat(k);
    if (!std::isfinite(v) || std::trunc(v) != v) {
        throw ValueError(fmt::format("{}: index {} at {} is not a whole number", op, v,
                                     position_of(k, values.shape())));
    }
    if (!(std::abs(v) < limit)) {
        throw ValueError(fmt::format("{}: index {} at {} is too large to be an index", op, v,
                                     position_of(k, values.shape())));
    }
}
}  // namespace

template <class T>
IndexArray to_indices(const xt::xarray<T>& values, const char* op) {
    IndexArray out = xt::empty<std::int64_t>(values.shape());
    for (std::size_t k = 0; k < values.size(); ++k) {
        check_whole_index(values, k, op);
        out.flat(k) = static_cast<std::int64_t>(values.flat(k));
    }
    return out;
}

template <class T>
Var<T> pick(const Var<T>& a, const Var<T>& index, std::ptrdiff_t axis, bool keepdims) {
    tape_of(a, index, "pick");
    // The checks of to_indices, without its array: pick reads the values themselves.
    for (std::size_t k = 0; k < index.size(); ++k) check_whole_index(index.value(), k, "pick");
    const std::array<Var<T>, 2> inputs{a, index};
    return pick_from(std::span<const Var<T>>(inputs), static_cast<const IndexArray*>(nullptr), axis, keepdims);
}

template <class T>
Var<T> gather(const Var<T>& a, const Var<T>& index, std::ptrdiff_t axis) {
    tape_of(a, index, "gather");
    const std::array<Var<T>, 2> inputs{a, index};
    return gather_from(std::span<const Var<T>>(inputs), to_indices(index.value(), "gather"), axis);
}

template <class T>
IndexArray argmax(const Var<T>& a, std::ptrdiff_t axis) {
    const Shape& shape = a.shape();
    const std::size_t ax = normalize_axis(axis, shape.size(), "argmax");
    if (shape[ax] == 0) {
        throw ShapeError(fmt::format("argmax: axis {} of shape {} is empty", ax, to_string(shape)));
    }
    Shape dropped = shape;
    dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(ax));
    IndexArray out = xt::empty<std::int64_t>(dropped);
    const kernels::AxisLayout layout(shape, ax);
    const xt::xarray<T>& x = a.value();
    for (std::size_t o = 0; o < layout.outer; ++o) {
        for (std::size_t i = 0; i < layout.inner; ++i) {
            // The first maximal element, a NaN counting as the largest (NumPy's rule).
            std::size_t best = 0;
            T best_value = x.flat(o * layout.n * layout.inner + i);
            for (std::size_t j = 1; j < layout.n && !std::isnan(best_value); ++j) {
                const T v = x.flat((o * layout.n + j) * layout.inner + i);
                if (v > best_value || std::isnan(v)) {
                    best = j;
                    best_value = v;
                }
            }
            out.flat(o * layout.inner + i) = static_cast<std::int64_t>(best);
        }
    }
    return out;
}

template <class T>
Var<T> one_hot(const Var<T>& indices, std::size_t depth) {
    if (depth == 0) throw ValueError("one_hot: depth must be positive, got 0");
    const IndexArray index = to_indices(indices.value(), "one_hot");
    Shape shape = indices.shape();
    shape.push_back(depth);
    xt::xarray<T> out = xt::zeros<T>(shape);
    for (std::size_t k = 0; k < index.size(); ++k) {
        const std::int64_t i = index.flat(k);
        if (i < 0 || static_cast<std::size_t>(i) >= depth) {
            throw ValueError(fmt::format("one_hot: index {} at {} is outside [0, {})", i,
                                         position_of(k, indices.shape()), depth));
        }
        out.flat(k * depth + static_cast<std::size_t>(i)) = T(1);
    }
    return tape_of(indices, "one_hot").constant(std::move(out));
}

namespace detail {

namespace {

// to.flat(i) = from.flat(positions[i]): a gather by flat position.
template <class T>
void gather_positions(const xt::xarray<T>& from, const std::vector<std::size_t>& positions, xt::xarray<T>& to) {
    for (std::size_t i = 0; i < positions.size(); ++i) to.flat(i) = from.flat(positions[i]);
}

// to.flat(positions[i]) += from.flat(i): its adjoint, a scatter-add.
template <class T>
void add_at_positions(const xt::xarray<T>& from, const std::vector<std::size_t>& positions, xt::xarray<T>& to) {
    for (std::size_t i = 0; i < positions.size(); ++i) to.flat(positions[i]) += from.flat(i);
}

}  // namespace

template <class T>
Var<T> take_flat(const Var<T>& a, Positions positions, const Shape& shape) {
    Tape<T>& tape = tape_of(a, "take_flat");
    xt::xarray<T> out = tape.buffer(shape);
    gather_positions(a.value(), *positions, out);
    return tape.record(
        "take_flat", {a}, std::move(out),
        [positions](GradContext<T>& c) {
            c.accumulate_at(0, *positions, std::span<const T>(c.grad().data(), c.grad().size()));
        },
        [positions](VarGradContext<T>& c) { c.accumulate_at(0, positions); });
}

template <class T>
Var<T> scatter_flat(const Var<T>& g, Positions positions, const Shape& shape) {
    Tape<T>& tape = tape_of(g, "scatter_flat");
    // Zeroed spare storage of the tape rather than a new array (whose first
    // touch would fault in every page).
    xt::xarray<T> out = tape.buffer(shape);
    std::fill(out.begin(), out.end(), T(0));
    add_at_positions(g.value(), *positions, out);
    return tape.record(
        "scatter_flat", {g}, std::move(out),
        [positions](GradContext<T>& c) {
            xt::xarray<T> dg = c.buffer(c.input(0).shape());
            gather_positions(c.grad(), *positions, dg);
            c.accumulate(0, std::move(dg));
        },
        [positions](VarGradContext<T>& c) { c.accumulate(0, take_flat(c.grad(), positions, c.input(0).shape())); });
}

template <class T>
Var<T> add_at(const Var<T>& base, const Var<T>& g, Positions positions) {
    Tape<T>& tape = tape_of(base, g, "add_at");
    xt::xarray<T> out = tape.buffer(base.shape());
    std::copy_n(base.value().data(), base.size(), out.data());
    add_at_positions(g.value(), *positions, out);
    return tape.record(
        "add_at", {base, g}, std::move(out),
        [positions](GradContext<T>& c) {
            if (c.needs_grad(1)) {
                xt::xarray<T> dg = c.buffer(c.input(1).shape());
                gather_positions(c.grad(), *positions, dg);
                c.accumulate(1, std::move(dg));
            }
            c.pass_on(0);  // last: it may hand the gradient over
        },
        [positions](VarGradContext<T>& c) {
            c.accumulate(0, c.grad());
            c.accumulate(1, take_flat(c.grad(), positions, c.input(1).shape()));
        });
}

template Var<float> take_flat(const Var<float>&, Positions, const Shape&);
template Var<double> take_flat(const Var<double>&, Positions, const Shape&);
template Var<float> scatter_flat(const Var<float>&, Positions, const Shape&);
template Var<double> scatter_flat(const Var<double>&, Positions, const Shape&);
template Var<float> add_at(const Var<float>&, const Var<float>&, Positions);
template Var<double> add_at(const Var<double>&, const Var<double>&, Positions);

}  // namespace detail

#define XTAPE_INSTANTIATE(T)                                                                    \
    template Var<T> reshape(const Var<T>&, const Shape&);                                       \
    template Var<T> transpose(const Var<T>&, const Axes&);                                      \
    template Var<T> swapaxes(const Var<T>&, std::ptrdiff_t, std::ptrdiff_t);                     \
    template Var<T> broadcast_to(const Var<T>&, const Shape&);                                  \
    template Var<T> slice(const Var<T>&, std::ptrdiff_t, std::size_t, std::size_t, std::size_t); \
    template Var<T> concat(const std::vector<Var<T>>&, std::ptrdiff_t);                         \
    template Var<T> stack(const std::vector<Var<T>>&, std::ptrdiff_t);                          \
    template Var<T> gather(const Var<T>&, const IndexArray&, std::ptrdiff_t);                   \
    template Var<T> gather(const Var<T>&, const Var<T>&, std::ptrdiff_t);                       \
    template Var<T> pick(const Var<T>&, const IndexArray&, std::ptrdiff_t, bool);               \
    template Var<T> pick(const Var<T>&, const Var<T>&, std::ptrdiff_t, bool);                   \
    template IndexArray argmax(const Var<T>&, std::ptrdiff_t);                                  \
    template Var<T> one_hot(const Var<T>&, std::size_t);                                        \
    template IndexArray to_indices(const xt::xarray<T>&, const char*);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
