// Stochastic gradient descent with momentum and weight decay.
#pragma once

#include <span>
#include <vector>

#include "xtape/nn/parameter.hpp"

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
/// with the velocity v starting at 0.
template <class T>
class SGD {
public:
    /// Throws ValueError when learning_rate <= 0, momentum is outside [0, 1)
    /// or weight_decay < 0.
    SGD(std::vector<Parameter<T>> parameters, SGDOptions options = {});

    /// One update from the gradients on `tape` (call after backward, before clear).
    void step(const Tape<T>& tape = current_tape<T>());
    /// One update from given gradients, one per parameter in the constructor's
    /// order (distributed::GradientAverager's averages). Throws ShapeError when
    /// their number or a shape differs.
    void step(std::span<const xt::xarray<T>> gradients);

    /// The current step size.
    double learning_rate() const { return options_.learning_rate; }
    /// For schedules; throws ValueError when rate <= 0.
    void set_learning_rate(double rate);

private:
    // One update with gradient_of(k) as parameter k's gradient.
    template <class GradientOf>
    void update(const GradientOf& gradient_of);

    std::vector<Parameter<T>> parameters_;
    std::vector<xt::xarray<T>> velocity_;
    SGDOptions options_;
};

}  // namespace xtape
