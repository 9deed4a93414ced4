// Adam and AdamW: per-coordinate step sizes from running moments of the gradient.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "xtape/optim/optimizer.hpp"

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

/// The hyper-parameters of AdamW, with PyTorch's defaults.
struct AdamWOptions {
    /// Step size; must be > 0.
    double learning_rate = 1e-3;
    /// Decay of the first moment m; in [0, 1).
    double beta1 = 0.9;
    /// Decay of the second moment v; in [0, 1).
    double beta2 = 0.999;
    /// Added to sqrt(v-hat) so the step stays finite; must be > 0.
    double epsilon = 1e-8;
    /// Decoupled decay: each step first multiplies w by 1 - learning_rate * weight_decay.
    double weight_decay = 1e-2;
};

namespace detail {
/// The update Adam and AdamW share: for each parameter w with gradient g, at
/// step t = 1, 2, ... (Kingma and Ba, 2015; Loshchilov and Hutter, 2019 for the
/// decoupled decay; PyTorch's formulas), with weight_decay as an L2 penalty
/// (Adam) or decoupled (AdamW):
///   Adam: g <- g + weight_decay * w;  AdamW: w <- (1 - learning_rate * weight_decay) w
///   m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
///   w <- w - learning_rate * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
/// with m and v starting at 0 (the divisions undo that bias towards 0).
template <class T>
class AdamUpdate : public Optimizer<T> {
public:
    /// beta1, beta2, epsilon and weight_decay.
    std::vector<std::pair<std::string, double>> options() const override;

protected:
    /// Throws ValueError (naming `name`) when learning_rate <= 0, a beta is
    /// outside [0, 1), epsilon <= 0 or weight_decay < 0.
    AdamUpdate(const char* name, std::vector<Parameter<T>> parameters, double learning_rate, double beta1,
               double beta2, double epsilon, double weight_decay, bool decoupled);

private:
    void update(std::size_t k, xt::xarray<T>& w, const xt::xarray<T>* g) override;

    double beta1_, beta2_, epsilon_, weight_decay_;
    bool decoupled_;
};
}  // namespace detail

/// Adam, with an optional L2 penalty added to the gradient (see detail::AdamUpdate).
template <class T>
class Adam final : public detail::AdamUpdate<T> {
public:
    /// Throws ValueError when learning_rate <= 0, a beta is outside [0, 1),
    /// epsilon <= 0 or weight_decay < 0.
    Adam(std::vector<Parameter<T>> parameters, AdamOptions options = {});
};

/// AdamW: Adam with decoupled weight decay, which shrinks every weight by the
/// same factor each step however large its gradient moments are (see
/// detail::AdamUpdate).
template <class T>
class AdamW final : public detail::AdamUpdate<T> {
public:
    /// Throws ValueError when learning_rate <= 0, a beta is outside [0, 1),
    /// epsilon <= 0 or weight_decay < 0.
    AdamW(std::vector<Parameter<T>> parameters, AdamWOptions options = {});
};

}  // namespace xtape
