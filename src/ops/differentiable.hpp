// What the ops' differentiable backward functions (create_graph) are written
// with besides the public ops: the linear maps that move gradients between
// element positions, and the backward of a node by recomposing it from
// primitives.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "xtape/ops.hpp"
#include "xtape/tape.hpp"

namespace xtape::detail {

/// Flat (row-major) element positions, shared between a node's closures.
using Positions = std::shared_ptr<const std::vector<std::size_t>>;

/// out.flat(i) = a.flat((*positions)[i]), of `shape` (positions->size()
/// elements): a gather by flat position. Its gradient is scatter_flat's.
template <class T>
Var<T> take_flat(const Var<T>& a, Positions positions, const Shape& shape);

/// Zeros of `shape` with g.flat(i) added at (*positions)[i] (twice where a
/// position repeats): the adjoint of take_flat, and the gradient of every op
/// that selects elements (pick, gather, slice, max).
template <class T>
Var<T> scatter_flat(const Var<T>& g, Positions positions, const Shape& shape);

/// base with g.flat(i) added at (*positions)[i]: a sparse gradient added to
/// the gradient so far in one copy (VarGradContext::accumulate_at). Its
/// gradient is the incoming one for base and take_flat's for g.
template <class T>
Var<T> add_at(const Var<T>& base, const Var<T>& g, Positions positions);

/// The gradient g of a reduction (of its output's shape) broadcast back over
/// the input's shape `in`; `kept` is the output's shape with each reduced
/// axis present with size 1.
template <class T>
Var<T> expand(const Var<T>& g, const Shape& kept, const Shape& in) {
    return broadcast_to(reshape(g, kept), in);
}

/// How many elements of `full` each value of an input of `fuse` of `shape`
/// stands for: 1 for `full` itself, n for one value per row of n contiguous
/// elements (`full` with trailing axes of extent 1); nullopt for any other
/// shape.
inline std::optional<std::size_t> elements_per_value(const Shape& full, const Shape& shape) {
    if (shape.size() != full.size()) return std::nullopt;
    std::size_t axis = shape.size();
    std::size_t n = 1;
    for (; axis > 0 && shape[axis - 1] == 1; --axis) n *= full[axis - 1];
    if (!std::equal(shape.begin(), shape.begin() + static_cast<std::ptrdiff_t>(axis), full.begin())) {
        return std::nullopt;
    }
    return n;
}

/// `v` (a reduction's gradient or statistic, of its kept shape) as an input
/// of `fuse` beside inputs of shape `in`: as it is where fuse takes it as one
/// value per row (expanded tile by tile), else broadcast over `in` in memory.
template <class T>
Var<T> row_values_or_broadcast(const Var<T>& v, const Shape& in) {
    return elements_per_value(in, v.shape()) ? v : broadcast_to(v, in);
}

/// The differentiable backward of a node that computes, in one optimised
/// pass, what `recompose(inputs)` computes with primitives: the composition is
/// recorded again and differentiated (with create_graph) from the node's
/// gradient, and its inputs' gradients are the node's. Chunked graphs and
/// CTC's alpha-beta pass use it, so their second derivatives are those of
/// their plain composition.
template <class T, class Recompose>
void backward_by_recomposition(VarGradContext<T>& c, Recompose&& recompose) {
    Tape<T>& tape = c.tape();
    std::vector<Var<T>> inputs(c.inputs());
    for (std::size_t k = 0; k < inputs.size(); ++k) inputs[k] = c.input(k);
    // The composition's nodes lie above this position; the sweep stops below it.
    const auto floor = static_cast<std::uint32_t>(tape.size());
    const Var<T> y = recompose(std::span<const Var<T>>(inputs));
    const std::vector<Var<T>> grads = tape.gradients(y, c.grad(), inputs, floor);
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        // An input passed twice has its whole gradient at its first place.
        bool first = true;
        for (std::size_t j = 0; j < k; ++j) first = first && inputs[j].index() != inputs[k].index();
        if (first && c.needs_grad(k)) c.accumulate(k, grads[k]);
    }
}

}  // namespace xtape::detail
