// A fully connected layer: y = activation(x W + b).
#include "xtape/nn/dense.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/nn/init.hpp"
#include "xtape/ops.hpp"

namespace xtape {

namespace {
template <class T>
xt::xarray<T> initial_weight(std::size_t in, std::size_t out, Activation activation, Rng& rng) {
    const bool relu_like = activation == Activation::Relu || activation == Activation::LeakyRelu ||
                           activation == Activation::Elu || activation == Activation::Gelu;
    if (relu_like) return he_normal<T>(in, out, rng);
    return glorot_uniform<T>(in, out, rng);
}
}  // namespace

template <class T>
Dense<T>::Dense(std::size_t in_features, std::size_t out_features, Activation activation, Rng& rng,
                const std::string& name)
    : weight_(name + ".weight", initial_weight<T>(in_features, out_features, activation, rng)),
      bias_(name + ".bias", xt::zeros<T>({out_features})),
      activation_(activation) {}

template <class T>
Var<T> Dense<T>::operator()(const Var<T>& x) const {
    if (x.dimension() != 2 || x.shape()[1] != in_features()) {
        throw ShapeError(fmt::format("Dense '{}': argument x must have shape (N, {}), got {}", weight_.name(),
                                     in_features(), to_string(x.shape())));
    }
    Tape<T>& tape = x.tape();
    return activate(add(matmul(x, weight_.var(tape)), bias_.var(tape)), activation_);
}

template class Dense<float>;
template class Dense<double>;

}  // namespace xtape
