// L2Loss: half the squared error, averaged per sample.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of L2Loss, with its defaults.
struct L2LossOptions {
    std::optional<double> weight = 1.0;
    std::ptrdiff_t batch_axis = 0;
};

/// L2Loss: out = mean_b(sw * (w/2) * (label - pred)^2). `label` is reshaped
/// like `pred`; a weight of None counts as 1 (the 1/2 is part of the loss).
/// Throws ShapeError for a label of another element count, a sample_weight
/// that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class L2Loss : public Loss<T> {
public:
    using Options = L2LossOptions;
    explicit L2Loss(const L2LossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "L2Loss(batch_axis=0, w=1)"
    std::string repr() const;
};

}  // namespace xtape
