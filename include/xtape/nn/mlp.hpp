// A multilayer perceptron: Dense layers with one hidden activation, a linear output.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "xtape/nn/dense.hpp"

namespace xtape {

/// sizes = {in, hidden..., out}: a Dense layer between each pair of sizes, the
/// hidden ones with `hidden` activation and the last one linear (its outputs
/// are logits or raw predictions for a loss to interpret).
template <class T>
class MLP {
public:
    /// Layers are named "<name>.0", "<name>.1", ...; throws ValueError when
    /// fewer than two sizes are given or a size is 0.
    MLP(const std::vector<std::size_t>& sizes, Activation hidden, Rng& rng, const std::string& name = "mlp");

    /// The network on x's tape; throws ShapeError when x is not (N, in).
    Var<T> operator()(const Var<T>& x) const;

    /// The Dense layers, input side first.
    const std::vector<Dense<T>>& layers() const { return layers_; }
    /// Every layer's weight and bias, in order.
    std::vector<Parameter<T>> parameters() const;

private:
    std::vector<Dense<T>> layers_;
};

}  // namespace xtape
