// SigmoidBinaryCrossEntropyLoss (alias SigmoidBCELoss): binary cross-entropy on logits or probabilities.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of SigmoidBinaryCrossEntropyLoss, with its defaults.
struct SigmoidBinaryCrossEntropyLossOptions {
    /// True: pred holds probabilities in [0, 1]; false: pred holds logits.
    bool from_sigmoid = false;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// SigmoidBinaryCrossEntropyLoss, with x = pred, y = label reshaped like x and
/// p = pos_weight (broadcast to x's shape):
/// - logits:        e = softplus(x) - x*y, or with p: (1-y)*x + (1+(p-1)*y)*softplus(-x);
/// - from_sigmoid:  e = -(p*y*log(x+1e-12) + (1-y)*log(1-x+1e-12)), p = 1 without pos_weight;
/// then out = mean_b(sw * w * e). Gradients reach pred, label, sample_weight and
/// pos_weight; softplus' derivative is sigmoid exactly (0.5 at x = 0).
/// Throws ShapeError for a label of another element count, a sample_weight or
/// pos_weight that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class SigmoidBinaryCrossEntropyLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = SigmoidBinaryCrossEntropyLossOptions;
    /// Builds the loss from Gluon's options.
    explicit SigmoidBinaryCrossEntropyLoss(const SigmoidBinaryCrossEntropyLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; `pos_weight`
    /// scales the positive term. The formula and what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight = std::nullopt,
                      std::optional<Var<T>> pos_weight = std::nullopt) const;
    /// "SigmoidBinaryCrossEntropyLoss(batch_axis=0, w=None, from_sigmoid=false)"
    std::string repr() const;

    /// The options it was built with.
    const SigmoidBinaryCrossEntropyLossOptions& options() const { return options_; }

private:
    SigmoidBinaryCrossEntropyLossOptions options_;
};

/// Gluon's alias: the same class.
template <class T>
using SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss<T>;

}  // namespace xtape
