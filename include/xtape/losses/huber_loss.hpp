// HuberLoss: quadratic near zero, linear beyond rho (torch's SmoothL1Loss with beta = rho).
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of HuberLoss, with its defaults.
struct HuberLossOptions {
    double rho = 1;
    std::optional<double> weight = std::nullopt;
    std::ptrdiff_t batch_axis = 0;
};

/// HuberLoss: a = |label - pred|; e = a > rho ? a - rho/2 : a^2/(2*rho);
/// out = mean_b(sw * w * e). `label` is reshaped like `pred`. The two pieces
/// meet with equal value and slope at a = rho, so there is no kink.
/// Throws ValueError when rho <= 0 (or NaN); ShapeError for a label of another
/// element count, a sample_weight that does not broadcast to pred's shape, or
/// a batch_axis out of range.
template <class T>
class HuberLoss : public Loss<T> {
public:
    using Options = HuberLossOptions;
    explicit HuberLoss(const HuberLossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "HuberLoss(batch_axis=0, w=None, rho=1)"
    std::string repr() const;

    double rho() const { return rho_; }

private:
    double rho_;
};

}  // namespace xtape
