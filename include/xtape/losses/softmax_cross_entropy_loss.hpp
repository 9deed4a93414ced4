// SoftmaxCrossEntropyLoss (alias SoftmaxCELoss): cross-entropy of a softmax, sparse or dense labels.
#pragma once

#include <optional>
#include <string>

#include "xtape/losses/loss.hpp"

namespace xtape {

/// Gluon's options of SoftmaxCrossEntropyLoss, with its defaults.
struct SoftmaxCrossEntropyLossOptions {
    /// The class axis (negative counts from the end).
    std::ptrdiff_t axis = -1;
    /// True: label holds class indices; false: label holds a distribution like pred.
    bool sparse_label = true;
    /// True: pred already holds log-probabilities; false: log_softmax is applied along `axis`.
    bool from_logits = false;
    /// s: the target becomes (1-s)*target + s/C (PyTorch's label_smoothing); in [0, 1).
    double label_smoothing = 0;
    /// A sparse label equal to it is ignored: it contributes nothing and each
    /// sample's mean is over its kept positions (PyTorch's ignore_index). None: none.
    std::optional<double> ignore_index = std::nullopt;
    /// Gluon's `weight`: a scalar factor of the loss; None (the default) applies none.
    std::optional<double> weight = std::nullopt;
    /// The axis of the samples (negative counts from the end).
    std::ptrdiff_t batch_axis = 0;
};

/// SoftmaxCrossEntropyLoss: lp = from_logits ? pred : log_softmax(pred, axis);
/// - sparse labels (class indices as floats, shape of pred without `axis` or
///   with `axis` of size 1): e = -lp[label] along `axis`, kept with size 1;
/// - dense labels (reshaped like pred): e = -sum(lp * label, axis, keepdims);
/// then out = mean_b(sw * w * e), so an (N,T,C) pred gives the mean over T.
/// Sparse labels get no gradient; dense ones do.
/// Beyond Gluon 1.9 (docs/beyond-gluon.md), with s = label_smoothing and an
/// optional, differentiable class_weight cw of shape (C,) (1 without it):
/// - sparse: e = -((1-s)*cw[label]*lp[label] + s/C * sum_c cw_c*lp_c);
/// - dense:  e = -sum_c cw_c*((1-s)*label_c + s/C)*lp_c;
/// - ignore_index (sparse only): positions whose label equals it give 0, and
///   each sample's mean is over its kept positions (0 when none is kept).
/// Throws ShapeError for a label shape that fits neither form, a sample_weight
/// that does not broadcast to e's shape, a class_weight not of shape (C,), or
/// an axis/batch_axis out of range; ValueError naming the value and its flat
/// index for a sparse label that is neither ignored nor an integer in [0, C-1],
/// and (at construction) for label_smoothing outside [0, 1) or an ignore_index
/// with dense labels.
template <class T>
class SoftmaxCrossEntropyLoss : public Loss<T> {
public:
    /// The options struct the constructor takes (used by the loss registry).
    using Options = SoftmaxCrossEntropyLossOptions;
    /// Builds the loss from Gluon's options; throws ValueError naming the loss
    /// for label_smoothing outside [0, 1) or ignore_index with sparse_label=false.
    explicit SoftmaxCrossEntropyLoss(const SoftmaxCrossEntropyLossOptions& options = {});

    /// The per-sample loss, shape (N,), recorded on pred's tape; the formula and
    /// what it throws are in the class description.
    Var<T> operator()(const Var<T>& pred, const Var<T>& label, std::optional<Var<T>> sample_weight = std::nullopt,
                      std::optional<Var<T>> class_weight = std::nullopt) const;
    /// "SoftmaxCrossEntropyLoss(batch_axis=0, w=None, axis=-1, sparse_label=true, from_logits=false,
    /// label_smoothing=0, ignore_index=None)"
    std::string repr() const;

    /// The options it was built with.
    const SoftmaxCrossEntropyLossOptions& options() const { return options_; }

private:
    /// The graph with label_smoothing, ignore_index or class_weight; `kept` is e's shape.
    Var<T> beyond_gluon_graph(const Var<T>& pred, const Var<T>& label, const std::optional<Var<T>>& sample_weight,
                              const std::optional<Var<T>>& class_weight, std::size_t axis, const Shape& kept) const;

    SoftmaxCrossEntropyLossOptions options_;
};

/// Gluon's alias: the same class.
template <class T>
using SoftmaxCELoss = SoftmaxCrossEntropyLoss<T>;

}  // namespace xtape
