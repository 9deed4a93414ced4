// Stochastic gradient descent with momentum and weight decay.
#include "xtape/optim/sgd.hpp"

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>

#include "check_gradients.hpp"
#include "xtape/errors.hpp"

namespace xtape {

namespace {
void check_learning_rate(double rate, const char* optimizer) {
    if (!(rate > 0)) throw ValueError(fmt::format("{}: learning_rate must be positive, got {}", optimizer, rate));
}
}  // namespace

template <class T>
SGD<T>::SGD(std::vector<Parameter<T>> parameters, SGDOptions options)
    : parameters_(std::move(parameters)), options_(options) {
    check_learning_rate(options.learning_rate, "SGD");
    if (!(options.momentum >= 0 && options.momentum < 1)) {
        throw ValueError(fmt::format("SGD: momentum must lie in [0, 1), got {}", options.momentum));
    }
    if (!(options.weight_decay >= 0)) {
        throw ValueError(fmt::format("SGD: weight_decay must be >= 0, got {}", options.weight_decay));
    }
    velocity_.reserve(parameters_.size());
    for (const Parameter<T>& p : parameters_) velocity_.push_back(xt::zeros<T>(p.shape()));
}

template <class T>
void SGD<T>::step(const Tape<T>& tape) {
    update([&](std::size_t k) { return parameters_[k].grad(tape); });
}

template <class T>
void SGD<T>::step(std::span<const xt::xarray<T>> gradients) {
    detail::check_gradients("SGD", parameters_, gradients);
    update([&](std::size_t k) -> const xt::xarray<T>& { return gradients[k]; });
}

template <class T>
template <class GradientOf>
void SGD<T>::update(const GradientOf& gradient_of) {
    const auto rate = static_cast<T>(options_.learning_rate);
    const auto momentum = static_cast<T>(options_.momentum);
    const auto decay = static_cast<T>(options_.weight_decay);
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
        xt::xarray<T>& w = parameters_[k].value();
        xt::xarray<T> g = gradient_of(k);
        if (decay != 0) g += decay * w;
        velocity_[k] = momentum * velocity_[k] + g;
        w -= rate * velocity_[k];
    }
}

template <class T>
void SGD<T>::set_learning_rate(double rate) {
    check_learning_rate(rate, "SGD");
    options_.learning_rate = rate;
}

template class SGD<float>;
template class SGD<double>;

}  // namespace xtape
