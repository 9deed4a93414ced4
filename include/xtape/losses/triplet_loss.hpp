// TripletLoss: pull the positive closer than the negative by a margin (squared distances).
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of TripletLoss, with its defaults.
struct TripletLossOptions {
    /// The margin m in max(0, s + m).
    double margin = 1;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// TripletLoss: positive and negative are reshaped like pred;
/// s = sum_b((positive - pred)^2 - (negative - pred)^2) (no square root);
/// out = sw * w * max(0, s + margin), shape (N,): per sample, so sample_weight
/// must broadcast to (N,). At the kink s + margin = 0 the derivative is 0.
/// Throws ShapeError for a positive/negative of another element count, a
/// sample_weight that does not broadcast to (N,), or a batch_axis out of range.
template <class T>
class TripletLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = TripletLossOptions;
    /// Builds the loss from Gluon's options.
    explicit TripletLoss(const TripletLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& positive, const Var<T>& negative,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "TripletLoss(batch_axis=0, w=None, margin=1)"
    std::string repr() const;

    /// The options it was built with.
    const TripletLossOptions& options() const { return options_; }

private:
    TripletLossOptions options_;
};

}  // namespace xtape
