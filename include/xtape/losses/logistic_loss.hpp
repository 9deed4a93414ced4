// LogisticLoss: the logistic loss for signed (-1/1) or binary (0/1) labels.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of LogisticLoss, with its defaults.
struct LogisticLossOptions {
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
    /// "signed" (labels -1/1) or "binary" (labels 0/1).
    std::string label_format = "signed";
};

/// LogisticLoss: y = label reshaped like pred, mapped to (y+1)/2 when signed;
/// e = softplus(pred) - pred*y (stable, derivative sigmoid(pred) - y);
/// out = mean_b(sw * w * e). Equals SigmoidBCELoss on the same 0/1 labels.
/// Throws ValueError for a label_format other than "signed" or "binary";
/// ShapeError for a label of another element count, a sample_weight that does
/// not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class LogisticLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = LogisticLossOptions;
    /// Builds the loss from Gluon's options.
    /// Throws ValueError naming LogisticLoss for a label_format other than
    /// "signed" or "binary".
    explicit LogisticLoss(const LogisticLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "LogisticLoss(batch_axis=0, w=None, label_format=signed)"
    std::string repr() const;

    /// The options it was built with.
    const LogisticLossOptions& options() const { return options_; }

private:
    LogisticLossOptions options_;
};

}  // namespace xtape
