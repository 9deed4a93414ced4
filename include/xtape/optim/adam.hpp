// Adam: per-coordinate step sizes from running moments of the gradient.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "xtape/nn/parameter.hpp"

namespace xtape {

/// The hyper-parameters of Adam, with Kingma and Ba's defaults.
struct AdamOptions {
    /// Step size; must be > 0.
    double learning_rate = 1e-3;
    /// Decay of the first moment m; in [0, 1).
    double beta1 = 0.9;
    /// Decay of the second moment v; in [0, 1).
    double beta2 = 0.999;
    /// Added to sqrt(v-hat) so the step stays finite; must be > 0.
    double epsilon = 1e-8;
    /// L2 penalty: adds weight_decay * w to each gradient (not AdamW's decoupled form).
    double weight_decay = 0;
};

/// For each parameter w with gradient g, at step t = 1, 2, ... (Kingma and Ba, 2015):
///   m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
///   w <- w - learning_rate * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
/// with m and v starting at 0 (the divisions undo that bias towards 0).
template <class T>
class Adam {
public:
    /// Throws ValueError when learning_rate <= 0, a beta is outside [0, 1),
    /// epsilon <= 0 or weight_decay < 0.
    Adam(std::vector<Parameter<T>> parameters, AdamOptions options = {});

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
    /// Updates made so far (t).
    std::int64_t steps() const { return steps_; }

private:
    // One update with gradient_of(k) as parameter k's gradient.
    template <class GradientOf>
    void update(const GradientOf& gradient_of);

    std::vector<Parameter<T>> parameters_;
    std::vector<xt::xarray<T>> first_moment_;
    std::vector<xt::xarray<T>> second_moment_;
    AdamOptions options_;
    std::int64_t steps_ = 0;
};

}  // namespace xtape
