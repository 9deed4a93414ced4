// What every optimizer shares: its parameters, the step size, the count of
// steps, the arrays it keeps per parameter, and finding each gradient.
#include "xtape/optim/optimizer.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>

#include "xtape/errors.hpp"

#include "check_gradients.hpp"

namespace xtape {

namespace {
void check_learning_rate(const char* optimizer, double rate) {
    if (!(rate > 0)) throw ValueError(fmt::format("{}: learning_rate must be positive, got {}", optimizer, rate));
}
}  // namespace

template <class T>
Optimizer<T>::Optimizer(const char* name, std::vector<Parameter<T>> parameters, double learning_rate,
                        std::vector<std::string> state_names)
    : name_(name),
      parameters_(std::move(parameters)),
      learning_rate_(learning_rate),
      state_names_(std::move(state_names)),
      state_(state_names_.size()) {
    check_learning_rate(name_, learning_rate);
    for (auto& arrays : state_) {
        arrays.reserve(parameters_.size());
        for (const Parameter<T>& p : parameters_) arrays.push_back(xt::zeros<T>(p.shape()));
    }
}

template <class T>
void Optimizer<T>::step() {
    const bool any = std::any_of(parameters_.begin(), parameters_.end(),
                                 [](const Parameter<T>& p) { return p.has_grad(); });
    if (!any && !parameters_.empty()) {
        throw TapeError(fmt::format(
            "{}::step: none of the {} parameters has a gradient (call backward on a loss of them first, and step "
            "before clearing the tape they entered)",
            name_, parameters_.size()));
    }
    ++steps_;
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
        Parameter<T>& p = parameters_[k];
        update(k, p.value(), p.has_grad() ? &p.grad() : nullptr);
    }
}

template <class T>
void Optimizer<T>::step(std::span<const xt::xarray<T>> gradients) {
    detail::check_gradients(name_, parameters_, gradients);
    ++steps_;
    for (std::size_t k = 0; k < parameters_.size(); ++k) update(k, parameters_[k].value(), &gradients[k]);
}

template <class T>
void Optimizer<T>::set_learning_rate(double rate) {
    check_learning_rate(name_, rate);
    learning_rate_ = rate;
}

template <class T>
void Optimizer<T>::set_steps(std::int64_t steps) {
    if (steps < 0) throw ValueError(fmt::format("{}: steps must be >= 0, got {}", name_, steps));
    steps_ = steps;
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace xtape
