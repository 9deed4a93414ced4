// The activation functions a layer can apply after its affine map.
#pragma once

#include <string_view>

#include "xtape/tape.hpp"

namespace xtape {

/// What a Dense layer applies to x W + b.
enum class Activation { Identity, Relu, Tanh, Sigmoid };

/// Applies `activation` elementwise (Identity returns `x` itself).
template <class T>
Var<T> activate(const Var<T>& x, Activation activation);

/// "identity", "relu", "tanh" or "sigmoid".
std::string_view to_string(Activation activation);

/// The activation named "identity", "relu", "tanh" or "sigmoid"; throws ValueError otherwise.
Activation parse_activation(std::string_view name);

}  // namespace xtape
