// The activation functions a layer can apply after its affine map.
#pragma once

#include <string_view>

#include "xtape/tape.hpp"

namespace xtape {

/// What a Dense layer applies to x W + b. LeakyRelu has slope 0.01 below 0,
/// Elu alpha 1, Gelu is the exact (erf) form: the ops' defaults.
enum class Activation { Identity, Relu, Tanh, Sigmoid, Gelu, LeakyRelu, Elu };

/// Applies `activation` elementwise (Identity returns `x` itself).
template <class T>
Var<T> activate(const Var<T>& x, Activation activation);

/// "identity", "relu", "tanh", "sigmoid", "gelu", "leaky_relu" or "elu".
std::string_view to_string(Activation activation);

/// The activation of that name (see to_string); throws ValueError for another.
Activation parse_activation(std::string_view name);

}  // namespace xtape
