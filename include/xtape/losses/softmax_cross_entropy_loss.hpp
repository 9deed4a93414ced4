// SoftmaxCrossEntropyLoss (alias SoftmaxCELoss): cross-entropy of a softmax, sparse or dense labels.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of SoftmaxCrossEntropyLoss, with its defaults.
struct SoftmaxCrossEntropyLossOptions {
    std::ptrdiff_t axis = -1;
    bool sparse_label = true;
    bool from_logits = false;
    std::optional<double> weight = std::nullopt;
    std::ptrdiff_t batch_axis = 0;
};

/// SoftmaxCrossEntropyLoss: lp = from_logits ? pred : log_softmax(pred, axis);
/// - sparse labels (class indices as floats, shape of pred without `axis` or
///   with `axis` of size 1): e = -lp[label] along `axis`, kept with size 1;
/// - dense labels (reshaped like pred): e = -sum(lp * label, axis, keepdims);
/// then out = mean_b(sw * w * e), so an (N,T,C) pred gives the mean over T.
/// Sparse labels get no gradient; dense ones do.
/// Throws ShapeError for a label shape that fits neither form, a sample_weight
/// that does not broadcast to e's shape, or an axis/batch_axis out of range;
/// ValueError naming the value and its flat index for a sparse label that is
/// not an integer in [0, C-1].
template <class T>
class SoftmaxCrossEntropyLoss : public Loss<T> {
public:
    using Options = SoftmaxCrossEntropyLossOptions;
    explicit SoftmaxCrossEntropyLoss(const SoftmaxCrossEntropyLossOptions& options = {});

    Var<T> operator()(const Var<T>& pred, const Var<T>& label,
                      std::optional<Var<T>> sample_weight = std::nullopt) const;
    /// "SoftmaxCrossEntropyLoss(batch_axis=0, w=None, axis=-1, sparse_label=true, from_logits=false)"
    std::string repr() const;

    std::ptrdiff_t axis() const { return axis_; }
    bool sparse_label() const { return sparse_label_; }
    bool from_logits() const { return from_logits_; }

private:
    std::ptrdiff_t axis_;
    bool sparse_label_;
    bool from_logits_;
};

/// Gluon's alias: the same class.
template <class T>
using SoftmaxCELoss = SoftmaxCrossEntropyLoss<T>;

}  // namespace xtape
