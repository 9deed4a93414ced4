// Applying a loss to arrays on a fresh tape: its output, the gradients of its sum and Hessian-vector products.
#pragma once

#include <map>
#include <string>

#include "xtape/losses/registry.hpp"

namespace xtape::tool {

/// The loss output and, for every given input the loss differentiates with
/// these options, the gradient of sum(output) with respect to it.
template <class T>
struct Evaluation {
    xt::xarray<T> output;
    std::map<std::string, xt::xarray<T>> gradients;
};

/// Records the loss on `tape`: differentiable inputs become leaves, the others
/// constants. `leaves` receives the leaf of each differentiable input. Throws
/// the loss's errors.
template <class T>
Var<T> record_loss(Tape<T>& tape, const LossInfo& loss, const OptionMap& options, const ArrayMap<T>& inputs,
                   std::map<std::string, Var<T>>& leaves);

/// Applies the loss on a fresh tape and runs the backward sweep from its output
/// with a seed of ones (the gradient of the output's sum). Throws the loss's errors.
template <class T>
Evaluation<T> evaluate(const LossInfo& loss, const OptionMap& options, const ArrayMap<T>& inputs);

/// H v for H the Hessian of sum(output) with respect to every given input the
/// loss differentiates, jointly, and v the `directions` (by input name, of
/// their inputs' shapes; zero for a differentiable input with none): H v's
/// block for each differentiable input, by xtape::hvp. Throws the loss's errors,
/// and TapeError naming a node that cannot be differentiated twice.
template <class T>
std::map<std::string, xt::xarray<T>> hessian_times(const LossInfo& loss, const OptionMap& options,
                                                   const ArrayMap<T>& inputs, const ArrayMap<T>& directions);

/// The arrays of `inputs` converted to float or double.
template <class T>
ArrayMap<T> converted(const ArrayMap<double>& inputs);

}  // namespace xtape::tool
