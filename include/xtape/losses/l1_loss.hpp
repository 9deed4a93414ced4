// L1Loss: the absolute error, averaged per sample.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of L1Loss, with its defaults.
struct L1LossOptions {
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// L1Loss: out = mean_b(sw * w * |label - pred|), a plain mean (no 1/2).
/// `label` is reshaped like `pred`; d|z|/dz at z = 0 is 0.
/// Throws ShapeError for a label of another element count, a sample_weight
/// that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class L1Loss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = L1LossOptions;
    /// Builds the loss from Gluon's options.
    explicit L1Loss(const L1LossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "L1Loss(batch_axis=0, w=None)"
    std::string repr() const;
    /// The options it was built with.
    const L1LossOptions& options() const { return options_; }

private:
    L1LossOptions options_;
};

}  // namespace xtape
