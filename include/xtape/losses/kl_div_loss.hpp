// KLDivLoss: the Kullback-Leibler divergence of a label distribution from a predicted one.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of KLDivLoss, with its defaults.
struct KLDivLossOptions {
    /// True: pred already holds log-probabilities; false: log_softmax is applied along `axis`.
    bool from_logits = true;
    /// The class axis of the log_softmax (negative counts from the end).
    std::ptrdiff_t axis = -1;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// KLDivLoss: lp = from_logits ? pred : log_softmax(pred, axis);
/// e = label * (log(label + 1e-12) - lp); out = mean_b(sw * w * e), the mean
/// (the true KL divided by the number of classes), not MXNet 1.9's sum.
/// `label` is reshaped like `pred`; zero labels give finite values and gradients.
/// Throws ShapeError for a label of another element count, a sample_weight that
/// does not broadcast to pred's shape, or an axis/batch_axis out of range.
template <class T>
class KLDivLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = KLDivLossOptions;
    /// Builds the loss from Gluon's options.
    explicit KLDivLoss(const KLDivLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "KLDivLoss(batch_axis=0, w=None, from_logits=true, axis=-1)"
    std::string repr() const;

    /// The options it was built with.
    const KLDivLossOptions& options() const { return options_; }

private:
    KLDivLossOptions options_;
};

}  // namespace xtape
