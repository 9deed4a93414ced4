// Applying a loss to arrays on a fresh tape: its output and the gradients of its sum.
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

/// The arrays of `inputs` converted to float or double.
template <class T>
ArrayMap<T> converted(const ArrayMap<double>& inputs);

}  // namespace xtape::tool
