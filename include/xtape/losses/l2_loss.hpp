// L2Loss: half the squared error, averaged per sample.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of L2Loss, with its defaults.
struct L2LossOptions {
    /// Gluon's `weight`, default 1; the loss scales by weight/2, None counting as 1.
    std::optional<double> weight = 1.0;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// L2Loss: out = mean_b(sw * (w/2) * (label - pred)^2). `label` is reshaped
/// like `pred`; a weight of None counts as 1 (the 1/2 is part of the loss).
/// Throws ShapeError for a label of another element count, a sample_weight
/// that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class L2Loss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = L2LossOptions;
    /// Builds the loss from Gluon's options.
    explicit L2Loss(const L2LossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "L2Loss(batch_axis=0, w=1)"
    std::string repr() const;
    /// The options it was built with.
    const L2LossOptions& options() const { return options_; }

private:
    L2LossOptions options_;
};

}  // namespace xtape
