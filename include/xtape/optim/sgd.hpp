// Stochastic gradient descent with momentum and weight decay.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "xtape/optim/optimizer.hpp"

namespace xtape {

/// The hyper-parameters of SGD.
struct SGDOptions {
    /// Step size; must be > 0.
    double learning_rate = 0.01;
    /// 0 gives plain SGD.
    double momentum = 0;
    /// L2 penalty: adds weight_decay * w to each gradient.
    double weight_decay = 0;
};

/// For each parameter w with gradient g (PyTorch's convention):
///   g <- g + weight_decay * w;  v <- momentum * v + g;  w <- w - learning_rate * v
/// with the velocity v starting at 0 (kept only when momentum > 0).
template <class T>
class SGD final : public Optimizer<T> {
public:
    /// Throws ValueError when learning_rate <= 0, momentum is outside [0, 1)
    /// or weight_decay < 0.
    SGD(std::vector<Parameter<T>> parameters, SGDOptions options = {});

    /// momentum and weight_decay.
    std::vector<std::pair<std::string, double>> options() const override;

private:
    void update(std::size_t k, xt::xarray<T>& w, const xt::xarray<T>* g) override;

    SGDOptions options_;
};

}  // namespace xtape
