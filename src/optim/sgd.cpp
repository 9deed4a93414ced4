// Stochastic gradient descent with momentum and weight decay.
#include "xtape/optim/sgd.hpp"

#include <fmt/format.h>

#include "xtape/errors.hpp"

#include "../kernels/optimizer.hpp"

namespace xtape {

template <class T>
SGD<T>::SGD(std::vector<Parameter<T>> parameters, SGDOptions options)
    : Optimizer<T>("SGD", std::move(parameters), options.learning_rate,
                   options.momentum > 0 ? std::vector<std::string>{"velocity"} : std::vector<std::string>{}),
      options_(options) {
    if (!(options.momentum >= 0 && options.momentum < 1)) {
        throw ValueError(fmt::format("SGD: momentum must lie in [0, 1), got {}", options.momentum));
    }
    if (!(options.weight_decay >= 0)) {
        throw ValueError(fmt::format("SGD: weight_decay must be >= 0, got {}", options.weight_decay));
    }
}

template <class T>
std::vector<std::pair<std::string, double>> SGD<T>::options() const {
    return {{"momentum", options_.momentum}, {"weight_decay", options_.weight_decay}};
}

template <class T>
void SGD<T>::update(std::size_t k, xt::xarray<T>& w, const xt::xarray<T>* g) {
    const kernels::optimizer::SgdStep<T> step{static_cast<T>(this->learning_rate()),
                                              static_cast<T>(options_.momentum),
                                              static_cast<T>(options_.weight_decay)};
    T* velocity = this->state_names().empty() ? nullptr : this->state(0, k).data();
    kernels::optimizer::sgd(step, w.size(), w.data(), g == nullptr ? nullptr : g->data(), velocity);
}

template class SGD<float>;
template class SGD<double>;

}  // namespace xtape
