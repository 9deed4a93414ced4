// CosineEmbeddingLoss: pull similar pairs to cosine 1, push dissimilar ones below a margin.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of CosineEmbeddingLoss, with its defaults.
struct CosineEmbeddingLossOptions {
    /// The margin m in max(0, cos - m) for dissimilar pairs (label -1).
    double margin = 0;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// CosineEmbeddingLoss: input1 is reshaped like input2; along the last axis
/// cos = sum(a*b) / max(|a|*|b|, 1e-12) (computed as sqrt(max(|a|^2 |b|^2, 1e-24))
/// so that zero vectors give finite gradients); label (reshaped like cos, each
/// 1 or -1) selects e = 1 - cos (label 1) or max(0, cos - margin) (label -1);
/// out = mean_b(sw * w * e), shape (N,). The label gets no gradient.
/// Throws ValueError naming the value and its flat index for a label other than
/// +-1; ShapeError for inputs of rank < 2 or of different element counts, a
/// label of another element count than cos, a sample_weight that does not
/// broadcast to cos's shape, or a batch_axis out of range.
template <class T>
class CosineEmbeddingLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = CosineEmbeddingLossOptions;
    /// Builds the loss from Gluon's options.
    explicit CosineEmbeddingLoss(const CosineEmbeddingLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& input1, const Var<T>& input2, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "CosineEmbeddingLoss(batch_axis=0, w=None, margin=0)"
    std::string repr() const;

    /// The options it was built with.
    const CosineEmbeddingLossOptions& options() const { return options_; }

private:
    CosineEmbeddingLossOptions options_;
};

}  // namespace xtape
