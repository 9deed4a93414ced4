// HingeLoss and SquaredHingeLoss: max(0, margin - pred*label), plain or squared.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of HingeLoss and SquaredHingeLoss, with their defaults.
struct HingeLossOptions {
    /// The margin m in max(0, m - pred*label).
    double margin = 1;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// HingeLoss: e = max(0, margin - pred*label); out = mean_b(sw * w * e).
/// `label` (usually +-1) is reshaped like `pred`. At the kink margin = pred*label
/// the derivative is 0. Throws ShapeError for a label of another element count,
/// a sample_weight that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class HingeLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = HingeLossOptions;
    /// Builds the loss from Gluon's options.
    explicit HingeLoss(const HingeLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "HingeLoss(batch_axis=0, w=None, margin=1)"
    std::string repr() const;

    /// The options it was built with.
    const HingeLossOptions& options() const { return options_; }

private:
    HingeLossOptions options_;
};

/// SquaredHingeLoss: e = max(0, margin - pred*label)^2; otherwise as HingeLoss.
template <class T>
class SquaredHingeLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = HingeLossOptions;
    /// Builds the loss from Gluon's options.
    explicit SquaredHingeLoss(const HingeLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "SquaredHingeLoss(batch_axis=0, w=None, margin=1)"
    std::string repr() const;

    /// The options it was built with.
    const HingeLossOptions& options() const { return options_; }

private:
    HingeLossOptions options_;
};

}  // namespace xtape
