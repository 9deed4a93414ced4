// Derivatives of derivatives: gradients as variables (xtape::grad), and the
// Hessian-vector product, the Hessian and the directional derivative built on it.
#pragma once

#include <functional>
#include <initializer_list>
#include <span>
#include <vector>

#include <xtensor/xarray.hpp>

#include "xtape/tape.hpp"

namespace xtape {

/// How xtape::grad runs.
struct GradOptions {
    /// Keep the gradients differentiable: they are recorded with every node's
    /// differentiable backward (see BackwardOptions) and can be differentiated
    /// again. Without it they are constants.
    bool create_graph = false;
};

/// The gradients of the sum over k of <outputs[k], seeds[k]> with respect to
/// each of `inputs` (as torch.autograd.grad with several outputs and
/// grad_outputs): one reverse sweep from every output at once, each seeded
/// with its seed (of its shape). Throws ShapeError when the numbers of outputs
/// and seeds, or a seed's shape, do not match. Otherwise as below.
template <class T>
std::vector<Var<T>> grad(std::span<const Var<T>> outputs, std::span<const Var<T>> inputs,
                         std::span<const Var<T>> seeds, GradOptions options = {});
/// The gradients of `output` with respect to each of `inputs` (any variables
/// of its tape, leaves or not), as variables on that tape, seeded with `seed`
/// (of the output's shape). An input the output does not depend on gets zeros.
/// Functional: no variable's grad() changes. Without create_graph the
/// gradients are constants from the first-order sweep (Tape::gradient_arrays);
/// with it they are recorded (Tape::gradients), and a node that has no
/// differentiable backward throws TapeError naming it.
template <class T>
std::vector<Var<T>> grad(const Var<T>& output, std::span<const Var<T>> inputs, const Var<T>& seed,
                         GradOptions options = {});
/// As above with seed 1, for a single-element output; throws ShapeError for any other.
template <class T>
std::vector<Var<T>> grad(const Var<T>& output, std::span<const Var<T>> inputs, GradOptions options = {});
/// For a braced list: `grad(loss, {x, y}, {.create_graph = true})`.
template <class T>
std::vector<Var<T>> grad(const Var<T>& output, std::initializer_list<Var<T>> inputs, GradOptions options = {}) {
    return grad(output, std::span<const Var<T>>(inputs.begin(), inputs.size()), options);
}

/// A function of several arrays, recorded on the tape of its arguments.
template <class T>
using MultiFn = std::function<Var<T>(std::span<const Var<T>> inputs)>;
/// A function of one array, recorded on the tape of its argument.
template <class T>
using UnaryFn = std::function<Var<T>(const Var<T>& x)>;

/// H v, for H the Hessian of sum(f(xs)) with respect to all of xs jointly and
/// v given by blocks (one array per input, of its shape): the vector-Jacobian
/// product of grad f with v, two reverse sweeps (the second seeded with v's
/// blocks, so no <grad f, v> is formed). Runs on a scratch tape of its own.
/// Throws ShapeError when the numbers of inputs and directions, or a block's
/// shape, do not match, naming the input.
template <class T>
std::vector<xt::xarray<T>> hvp(const MultiFn<T>& f, const std::vector<xt::xarray<T>>& xs,
                               const std::vector<xt::xarray<T>>& vs);
/// H v for a scalar function of one array.
template <class T>
xt::xarray<T> hvp(const UnaryFn<T>& f, const xt::xarray<T>& x, const xt::xarray<T>& v);

/// The dense Hessian of sum(f(x)), of shape (n, n) for x of n elements: one
/// hvp per unit vector (for small x).
template <class T>
xt::xarray<T> hessian(const UnaryFn<T>& f, const xt::xarray<T>& x);

/// J t, the derivative of f at x in the direction t (of x's shape), of f's
/// output shape. By the double-vjp identity rather than a forward mode: u ->
/// J^T u is linear in u, so its vector-Jacobian product with t (the gradient
/// of <J^T u, t> with respect to u) is J t. It costs two reverse sweeps and
/// needs no rules beyond the differentiable backward each primitive already
/// has (one derivative per primitive, not a second set of tangent rules).
template <class T>
xt::xarray<T> jvp(const UnaryFn<T>& f, const xt::xarray<T>& x, const xt::xarray<T>& t);

}  // namespace xtape
