// TripletLoss: pull the positive closer than the negative by a margin (squared distances).
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of TripletLoss, with its defaults.
struct TripletLossOptions {
    double margin = 1;
    std::optional<double> weight = std::nullopt;
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
    using Options = TripletLossOptions;
    explicit TripletLoss(const TripletLossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& positive, const Var<T>& negative,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "TripletLoss(batch_axis=0, w=None, margin=1)"
    std::string repr() const;

    double margin() const { return margin_; }

private:
    double margin_;
};

}  // namespace xtape
