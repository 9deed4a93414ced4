// A multilayer perceptron: Dense layers with one hidden activation, a linear output.
#include "xtape/nn/mlp.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"

namespace xtape {

template <class T>
MLP<T>::MLP(const std::vector<std::size_t>& sizes, Activation hidden, Rng& rng, const std::string& name) {
    if (sizes.size() < 2) {
        throw ValueError(fmt::format("MLP '{}': argument sizes needs at least an input and an output size, got {}",
                                     name, sizes.size()));
    }
    layers_.reserve(sizes.size() - 1);
    for (std::size_t k = 0; k + 1 < sizes.size(); ++k) {
        const bool last = k + 2 == sizes.size();
        layers_.emplace_back(sizes[k], sizes[k + 1], last ? Activation::Identity : hidden, rng,
                             fmt::format("{}.{}", name, k));
    }
}

template <class T>
Var<T> MLP<T>::operator()(const Var<T>& x) const {
    Var<T> h = x;
    for (const Dense<T>& layer : layers_) h = layer(h);
    return h;
}

template <class T>
std::vector<Parameter<T>> MLP<T>::parameters() const {
    std::vector<Parameter<T>> all;
    for (const Dense<T>& layer : layers_) {
        for (Parameter<T>& p : layer.parameters()) all.push_back(p);
    }
    return all;
}

template class MLP<float>;
template class MLP<double>;

}  // namespace xtape
