// HingeLoss and SquaredHingeLoss: max(0, margin - pred*label), plain or squared.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of HingeLoss and SquaredHingeLoss, with their defaults.
struct HingeLossOptions {
    double margin = 1;
    std::optional<double> weight = std::nullopt;
    std::ptrdiff_t batch_axis = 0;
};

/// HingeLoss: e = max(0, margin - pred*label); out = mean_b(sw * w * e).
/// `label` (usually +-1) is reshaped like `pred`. At the kink margin = pred*label
/// the derivative is 0. Throws ShapeError for a label of another element count,
/// a sample_weight that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class HingeLoss : public Loss<T> {
public:
    using Options = HingeLossOptions;
    explicit HingeLoss(const HingeLossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "HingeLoss(batch_axis=0, w=None, margin=1)"
    std::string repr() const;

    double margin() const { return margin_; }

private:
    double margin_;
};

/// SquaredHingeLoss: e = max(0, margin - pred*label)^2; otherwise as HingeLoss.
template <class T>
class SquaredHingeLoss : public Loss<T> {
public:
    using Options = HingeLossOptions;
    explicit SquaredHingeLoss(const HingeLossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "SquaredHingeLoss(batch_axis=0, w=None, margin=1)"
    std::string repr() const;

    double margin() const { return margin_; }

private:
    double margin_;
};

}  // namespace xtape
