// HuberLoss: quadratic near zero, linear beyond rho (torch's SmoothL1Loss with beta = rho).
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of HuberLoss, with its defaults.
struct HuberLossOptions {
    /// Where the loss turns from quadratic to linear; must be > 0.
    double rho = 1;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// HuberLoss: a = |label - pred|; e = a > rho ? a - rho/2 : a^2/(2*rho);
/// out = mean_b(sw * w * e). `label` is reshaped like `pred`. The two pieces
/// meet with equal value and slope at a = rho, so there is no kink.
/// Throws ValueError when rho <= 0 (or NaN); ShapeError for a label of another
/// element count, a sample_weight that does not broadcast to pred's shape, or
/// a batch_axis out of range.
template <class T>
class HuberLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = HuberLossOptions;
    /// Builds the loss from Gluon's options.
    /// Throws ValueError naming HuberLoss when rho <= 0 or is NaN.
    explicit HuberLoss(const HuberLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "HuberLoss(batch_axis=0, w=None, rho=1)"
    std::string repr() const;

    /// The options it was built with.
    const HuberLossOptions& options() const { return options_; }

private:
    HuberLossOptions options_;
};

}  // namespace xtape
