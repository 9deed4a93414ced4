// SDMLLoss: smoothed deep metric learning (Gluon 2.0): each x1_i should be nearest to x2_i
// of all the batch's x2_j.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// The options of SDMLLoss (docs/beyond-gluon.md), with Gluon 2.0's defaults.
struct SDMLLossOptions {
    /// The label mass spread over the other samples, in [0, 1].
    double smoothing_parameter = 0.3;
    /// Gluon's `weight`: a scalar factor of the loss (Gluon 2.0's SDMLLoss defaults it to 1).
    std::optional<double> weight = 1.0;
    /// The axis of the samples of x1 and x2 (0 or 1 of the two axes).
    std::ptrdiff_t batch_axis = 0;
};

/// SDMLLoss, for x1 and x2 of shape (N, D) (samples along batch_axis) and
/// s = smoothing_parameter: D_ij = sum_k (x1_ik - x2_jk)^2, lp = log_softmax(-D, 1),
/// L_ij = 1 - s on the diagonal and s/(N-1) elsewhere,
/// out_i = mean_j L_ij * (log(L_ij + 1e-12) - lp_ij) (KLDivLoss with from_logits),
/// then * sw_i * w. Gradients reach x1, x2 and sample_weight (which broadcasts to (N,)).
/// Throws ValueError naming the loss for s outside [0, 1] (at construction) and
/// for N < 2; ShapeError for x1 and x2 that are not two equal 2-D shapes, a
/// sample_weight that does not broadcast to (N,), or a batch_axis out of range.
template <class T>
class SDMLLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = SDMLLossOptions;
    /// Builds the loss; throws ValueError naming SDMLLoss for s outside [0, 1].
    explicit SDMLLoss(const SDMLLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on x1's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& x1, const Var<T>& x2, std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "SDMLLoss(batch_axis=0, w=1, smoothing_parameter=0.3)"
    std::string repr() const;

    /// The options it was built with.
    const SDMLLossOptions& options() const { return options_; }

private:
    SDMLLossOptions options_;
};

}  // namespace xtape
