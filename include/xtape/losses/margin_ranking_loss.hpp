// MarginRankingLoss: a hinge on the difference of two scores, by which should rank higher
// (PyTorch's MarginRankingLoss).
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// The options of MarginRankingLoss (docs/beyond-gluon.md), with PyTorch's defaults.
struct MarginRankingLossOptions {
    /// By how much the higher-ranked input should exceed the other.
    double margin = 0;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// MarginRankingLoss: e = max(0, -label*(input1 - input2) + margin), label = 1
/// where input1 should rank higher and -1 where input2 should; label is reshaped
/// like input1; out = mean_b(sw * w * e) (a 1-D batch: each element is a sample).
/// The label gets no gradient. Throws ValueError naming the loss for a label
/// other than 1 or -1; ShapeError for input2 of another shape than input1, a
/// label of another element count, a sample_weight that does not broadcast, or
/// a batch_axis out of range.
template <class T>
class MarginRankingLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = MarginRankingLossOptions;
    /// Builds the loss.
    explicit MarginRankingLoss(const MarginRankingLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on input1's tape; the formula
    /// and what it throws are in the class description.
    Var<T> operator()(const Var<T>& input1, const Var<T>& input2, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "MarginRankingLoss(batch_axis=0, w=None, margin=0)"
    std::string repr() const;

    /// The options it was built with.
    const MarginRankingLossOptions& options() const { return options_; }

private:
    MarginRankingLossOptions options_;
};

}  // namespace xtape
