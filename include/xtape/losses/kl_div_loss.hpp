// KLDivLoss: the Kullback-Leibler divergence of a label distribution from a predicted one.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of KLDivLoss, with its defaults.
struct KLDivLossOptions {
    bool from_logits = true;
    std::ptrdiff_t axis = -1;
    std::optional<double> weight = std::nullopt;
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
    using Options = KLDivLossOptions;
    explicit KLDivLoss(const KLDivLossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "KLDivLoss(batch_axis=0, w=None, from_logits=true, axis=-1)"
    std::string repr() const;

    bool from_logits() const { return from_logits_; }
    std::ptrdiff_t axis() const { return axis_; }

private:
    bool from_logits_;
    std::ptrdiff_t axis_;
};

}  // namespace xtape
