// LogisticLoss: the logistic loss for signed (-1/1) or binary (0/1) labels.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of LogisticLoss, with its defaults.
struct LogisticLossOptions {
    std::optional<double> weight = std::nullopt;
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
    using Options = LogisticLossOptions;
    explicit LogisticLoss(const LogisticLossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "LogisticLoss(batch_axis=0, w=None, label_format=signed)"
    std::string repr() const;

    const std::string& label_format() const { return label_format_; }

private:
    std::string label_format_;
};

}  // namespace xtape
