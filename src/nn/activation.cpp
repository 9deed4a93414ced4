// The activation functions a layer can apply after its affine map.
#include "xtape/nn/activation.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/ops.hpp"

namespace xtape {

template <class T>
Var<T> activate(const Var<T>& x, Activation activation) {
    switch (activation) {
        case Activation::Relu: return relu(x);
        case Activation::Tanh: return tanh(x);
        case Activation::Sigmoid: return sigmoid(x);
        case Activation::Gelu: return gelu(x);
        case Activation::LeakyRelu: return leaky_relu(x);
        case Activation::Elu: return elu(x);
        case Activation::Identity: break;
    }
    return x;
}

std::string_view to_string(Activation activation) {
    switch (activation) {
        case Activation::Relu: return "relu";
        case Activation::Tanh: return "tanh";
        case Activation::Sigmoid: return "sigmoid";
        case Activation::Gelu: return "gelu";
        case Activation::LeakyRelu: return "leaky_relu";
        case Activation::Elu: return "elu";
        case Activation::Identity: break;
    }
    return "identity";
}

Activation parse_activation(std::string_view name) {
    for (Activation a : {Activation::Identity, Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Gelu,
                         Activation::LeakyRelu, Activation::Elu}) {
        if (name == to_string(a)) return a;
    }
    throw ValueError(fmt::format(
        "parse_activation: unknown activation '{}' (known: identity, relu, tanh, sigmoid, gelu, leaky_relu, elu)",
        name));
}

template Var<float> activate(const Var<float>&, Activation);
template Var<double> activate(const Var<double>&, Activation);

}  // namespace xtape
