// Adam and AdamW: per-coordinate step sizes from running moments of the gradient.
#include "xtape/optim/adam.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"

#include "../kernels/optimizer.hpp"

namespace xtape {

namespace detail {

template <class T>
AdamUpdate<T>::AdamUpdate(const char* name, std::vector<Parameter<T>> parameters, double learning_rate,
                          double beta1, double beta2, double epsilon, double weight_decay, bool decoupled)
    : Optimizer<T>(name, std::move(parameters), learning_rate, {"m", "v"}),
      beta1_(beta1),
      beta2_(beta2),
      epsilon_(epsilon),
      weight_decay_(weight_decay),
      decoupled_(decoupled) {
    if (!(beta1 >= 0 && beta1 < 1)) throw ValueError(fmt::format("{}: beta1 must lie in [0, 1), got {}", name, beta1));
    if (!(beta2 >= 0 && beta2 < 1)) throw ValueError(fmt::format("{}: beta2 must lie in [0, 1), got {}", name, beta2));
    if (!(epsilon > 0)) throw ValueError(fmt::format("{}: epsilon must be positive, got {}", name, epsilon));
    if (!(weight_decay >= 0)) {
        throw ValueError(fmt::format("{}: weight_decay must be >= 0, got {}", name, weight_decay));
    }
}

template <class T>
std::vector<std::pair<std::string, double>> AdamUpdate<T>::options() const {
    return {{"beta1", beta1_}, {"beta2", beta2_}, {"epsilon", epsilon_}, {"weight_decay", weight_decay_}};
}

template <class T>
void AdamUpdate<T>::update(std::size_t k, xt::xarray<T>& w, const xt::xarray<T>* g) {
    // The bias corrections, folded into the step's scalars (computed in double).
    const double t = static_cast<double>(this->steps());
    const double rate = this->learning_rate();
    const kernels::optimizer::AdamStep<T> step{
        .one_minus_beta1 = static_cast<T>(1 - beta1_),
        .beta2 = static_cast<T>(beta2_),
        .one_minus_beta2 = static_cast<T>(1 - beta2_),
        .step_size = static_cast<T>(rate / (1 - std::pow(beta1_, t))),
        .root_correction2 = static_cast<T>(std::sqrt(1 - std::pow(beta2_, t))),
        .epsilon = static_cast<T>(epsilon_),
        .l2 = static_cast<T>(decoupled_ ? 0 : weight_decay_),
        .keep = static_cast<T>(decoupled_ ? 1 - rate * weight_decay_ : 1),
    };
    kernels::optimizer::adam(step, w.size(), w.data(), g == nullptr ? nullptr : g->data(), this->state(0, k).data(),
                             this->state(1, k).data());
}

template class AdamUpdate<float>;
template class AdamUpdate<double>;

}  // namespace detail

template <class T>
Adam<T>::Adam(std::vector<Parameter<T>> parameters, AdamOptions o)
    : detail::AdamUpdate<T>("Adam", std::move(parameters), o.learning_rate, o.beta1, o.beta2, o.epsilon,
                            o.weight_decay, false) {}

template <class T>
AdamW<T>::AdamW(std::vector<Parameter<T>> parameters, AdamWOptions o)
    : detail::AdamUpdate<T>("AdamW", std::move(parameters), o.learning_rate, o.beta1, o.beta2, o.epsilon,
                            o.weight_decay, true) {}

template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace xtape
