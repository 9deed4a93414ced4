// PoissonNLLLoss: the negative log-likelihood of a Poisson target given a rate or log-rate.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of PoissonNLLLoss, with its defaults (epsilon is a call
/// argument in Gluon, an option here).
struct PoissonNLLLossOptions {
    /// True: pred is the log-rate; false: pred is the rate itself.
    bool from_logits = true;
    /// Adds Stirling's approximation of log(target!) where target > 1.
    bool compute_full = false;
    /// Added to the rate inside the log when from_logits is false.
    double epsilon = 1e-8;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// PoissonNLLLoss, with x = pred and t = target reshaped like x:
/// e = exp(x) - t*x (log-rate, from_logits) or x - t*log(x + epsilon) (rate);
/// compute_full adds Stirling's t*log(t) - t + 0.5*log(2*pi*t) where t > 1 and
/// 0 elsewhere (values and gradients stay finite at t = 0);
/// out = mean(sw * w * e) over every element, shape (1,): batch_axis is only
/// range-checked. Throws ShapeError for a target of another element count, a
/// sample_weight that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class PoissonNLLLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = PoissonNLLLossOptions;
    /// Builds the loss from Gluon's options.
    explicit PoissonNLLLoss(const PoissonNLLLossOptions& options = {});

    /// The loss averaged over every element, shape (1,), recorded on pred's tape;
    /// the formula and what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& target,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "PoissonNLLLoss(batch_axis=0, w=None, from_logits=true, compute_full=false, epsilon=1e-08)"
    std::string repr() const;

    /// The options it was built with.
    const PoissonNLLLossOptions& options() const { return options_; }

private:
    PoissonNLLLossOptions options_;
};

}  // namespace xtape
