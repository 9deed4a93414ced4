// L1Loss: the absolute error, averaged per sample.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of L1Loss, with its defaults.
struct L1LossOptions {
    std::optional<double> weight = std::nullopt;
    std::ptrdiff_t batch_axis = 0;
};

/// L1Loss: out = mean_b(sw * w * |label - pred|), a plain mean (no 1/2).
/// `label` is reshaped like `pred`; d|z|/dz at z = 0 is 0.
/// Throws ShapeError for a label of another element count, a sample_weight
/// that does not broadcast to pred's shape, or a batch_axis out of range.
template <class T>
class L1Loss : public Loss<T> {
public:
    using Options = L1LossOptions;
    explicit L1Loss(const L1LossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "L1Loss(batch_axis=0, w=None)"
    std::string repr() const;
};

}  // namespace xtape
