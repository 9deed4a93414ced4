// SigmoidFocalLoss: binary cross-entropy on logits, scaled down where the prediction is already right
// (torchvision's sigmoid_focal_loss, optax's sigmoid_focal_loss).
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// The options of SigmoidFocalLoss (docs/beyond-gluon.md), with torchvision's defaults.
struct SigmoidFocalLossOptions {
    /// The weight of the positive class, 1 - alpha that of the negative; a negative alpha turns it off.
    double alpha = 0.25;
    /// The focusing exponent of (1 - p_t); must be >= 0.
    double gamma = 2;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// SigmoidFocalLoss, with x = pred (logits) and y = label (0/1 or soft) reshaped
/// like x: p = sigmoid(x), ce = softplus(x) - x*y, 1 - p_t = p + y - 2*p*y,
/// e = ce * (1 - p_t)^gamma, times alpha*y + (1-alpha)*(1-y) when alpha >= 0;
/// out = mean_b(sw * w * e). With gamma = 0 and alpha < 0 it is SigmoidBCE.
/// Throws ValueError naming the loss for gamma < 0 (or NaN, or alpha NaN) at
/// construction; ShapeError for a label of another element count, a
/// sample_weight that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class SigmoidFocalLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = SigmoidFocalLossOptions;
    /// Builds the loss; throws ValueError naming SigmoidFocalLoss for gamma < 0.
    explicit SigmoidFocalLoss(const SigmoidFocalLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "SigmoidFocalLoss(batch_axis=0, w=None, alpha=0.25, gamma=2)"
    std::string repr() const;

    /// The options it was built with.
    const SigmoidFocalLossOptions& options() const { return options_; }

private:
    SigmoidFocalLossOptions options_;
};

}  // namespace xtape
