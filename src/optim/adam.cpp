// Adam: per-coordinate step sizes from running moments of the gradient.
#include "xtape/optim/adam.hpp"

#include <cmath>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include "check_gradients.hpp"
#include "xtape/errors.hpp"

namespace xtape {

namespace {
void check_learning_rate(double rate) {
    if (!(rate > 0)) throw ValueError(fmt::format("Adam: learning_rate must be positive, got {}", rate));
}
}  // namespace

template <class T>
Adam<T>::Adam(std::vector<Parameter<T>> parameters, AdamOptions options)
    : parameters_(std::move(parameters)), options_(options) {
    check_learning_rate(options.learning_rate);
    if (!(options.beta1 >= 0 && options.beta1 < 1)) {
        throw ValueError(fmt::format("Adam: beta1 must lie in [0, 1), got {}", options.beta1));
    }
    if (!(options.beta2 >= 0 && options.beta2 < 1)) {
        throw ValueError(fmt::format("Adam: beta2 must lie in [0, 1), got {}", options.beta2));
    }
    if (!(options.epsilon > 0)) throw ValueError(fmt::format("Adam: epsilon must be positive, got {}", options.epsilon));
    if (!(options.weight_decay >= 0)) {
        throw ValueError(fmt::format("Adam: weight_decay must be >= 0, got {}", options.weight_decay));
    }
    first_moment_.reserve(parameters_.size());
    second_moment_.reserve(parameters_.size());
    for (const Parameter<T>& p : parameters_) {
        first_moment_.push_back(xt::zeros<T>(p.shape()));
        second_moment_.push_back(xt::zeros<T>(p.shape()));
    }
}

template <class T>
void Adam<T>::step(const Tape<T>& tape) {
    update([&](std::size_t k) { return parameters_[k].grad(tape); });
}

template <class T>
void Adam<T>::step(std::span<const xt::xarray<T>> gradients) {
    detail::check_gradients("Adam", parameters_, gradients);
    update([&](std::size_t k) -> const xt::xarray<T>& { return gradients[k]; });
}

template <class T>
template <class GradientOf>
void Adam<T>::update(const GradientOf& gradient_of) {
    ++steps_;
    const auto beta1 = static_cast<T>(options_.beta1);
    const auto beta2 = static_cast<T>(options_.beta2);
    const auto decay = static_cast<T>(options_.weight_decay);
    const auto epsilon = static_cast<T>(options_.epsilon);
    // The bias corrections, folded into the step size (computed in double).
    const double t = static_cast<double>(steps_);
    const auto correction1 = static_cast<T>(1 - std::pow(options_.beta1, t));
    const auto correction2 = static_cast<T>(1 - std::pow(options_.beta2, t));
    const auto rate = static_cast<T>(options_.learning_rate);
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
        xt::xarray<T>& w = parameters_[k].value();
        xt::xarray<T> g = gradient_of(k);
        if (decay != 0) g += decay * w;
        xt::xarray<T>& m = first_moment_[k];
        xt::xarray<T>& v = second_moment_[k];
        m = beta1 * m + (T(1) - beta1) * g;
        v = beta2 * v + (T(1) - beta2) * g * g;
        w -= rate * (m / correction1) / (xt::sqrt(v / correction2) + epsilon);
    }
}

template <class T>
void Adam<T>::set_learning_rate(double rate) {
    check_learning_rate(rate);
    options_.learning_rate = rate;
}

template class Adam<float>;
template class Adam<double>;

}  // namespace xtape
