// GaussianNLLLoss: the negative log-likelihood of a target under a normal distribution
// of predicted mean and variance (PyTorch's GaussianNLLLoss).
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// The options of GaussianNLLLoss (docs/beyond-gluon.md), with PyTorch's defaults.
struct GaussianNLLLossOptions {
    /// Adds the constant 0.5*log(2*pi).
    bool full = false;
    /// The variance is clamped from below to eps; must be > 0.
    double eps = 1e-6;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// GaussianNLLLoss: v = max(var, eps) (no gradient to var where var < eps),
/// e = 0.5*(log v + (pred - target)^2 / v), plus 0.5*log(2*pi) when full;
/// out = mean_b(sw * w * e). target is reshaped like pred; var broadcasts to pred.
/// Throws ValueError naming the loss for eps <= 0 (at construction) and for a
/// negative var (a NaN propagates); ShapeError for a target of another element count, a
/// var or sample_weight that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class GaussianNLLLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = GaussianNLLLossOptions;
    /// Builds the loss; throws ValueError naming GaussianNLLLoss for eps <= 0.
    explicit GaussianNLLLoss(const GaussianNLLLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& target, const Var<T>& var,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "GaussianNLLLoss(batch_axis=0, w=None, full=false, eps=1e-06)"
    std::string repr() const;

    /// The options it was built with.
    const GaussianNLLLossOptions& options() const { return options_; }

private:
    GaussianNLLLossOptions options_;
};

}  // namespace xtape
