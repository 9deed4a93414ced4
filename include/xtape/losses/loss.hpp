// The base of every Gluon loss: `weight`, `batch_axis`, and the steps all losses share.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "xtape/chunked.hpp"
#include "xtape/fuse.hpp"
#include "xtape/shape.hpp"
#include "xtape/tape.hpp"

namespace xtape {

/// Rule 1 of the loss contract: `label` (any shape with as many elements as
/// `pred`) reshaped, not broadcast, to `pred.shape()`. Returns `label` itself
/// when the shapes already agree. Throws ShapeError naming `loss_name`,
/// `arg_name` and both shapes when the element counts differ.
template <class T>
Var<T> reshape_like(const Var<T>& label, const Var<T>& pred, const char* loss_name, const char* arg_name);

/// The check of reshape_like alone, recording nothing: for a loss that must
/// check several inputs before it records any reshape.
template <class T>
void check_reshapable_like(const Var<T>& label, const Var<T>& pred, const char* loss_name, const char* arg_name);

/// Sparse class labels (floats holding whole numbers) as indices in
/// [0, num_classes - 1]. Throws ValueError naming `loss_name`, `arg_name`, the
/// first offending value and its flat index when a label is not an integer
/// (NaN included) or is out of range.
template <class T>
IndexArray class_indices(const xt::xarray<T>& label, std::size_t num_classes, const char* loss_name,
                         const char* arg_name);

/// A loss's `weight` as Gluon prints it: "None", or the number ("0.5").
std::string weight_repr(const std::optional<double>& weight);

/// What every Gluon loss holds: a scalar `weight` (None = absent) and the
/// `batch_axis` (negative counts from the end), with the shared steps of the
/// contract built from tape ops. Derived classes give their Gluon class name.
template <class T>
class Loss {
public:
    /// Gluon's class name, e.g. "L2Loss".
    const char* name() const { return name_; }
    /// The scalar `weight`; empty for Gluon's None.
    const std::optional<double>& weight() const { return weight_; }
    /// The axis of the samples, as given (negative counts from the end).
    std::ptrdiff_t batch_axis() const { return batch_axis_; }

    /// Rule 4: throws ShapeError naming the loss when `batch_axis` is out of
    /// range for `input` (checked against the loss's main input), or when
    /// another axis of `input` is empty (nothing to average per sample).
    void check_batch_axis(const Var<T>& input) const;
    /// Rule 2's shape check alone, made before the loss records anything so that
    /// a bad sample_weight leaves the tape unchanged: throws ShapeError naming the
    /// loss and both shapes unless `sample_weight` broadcasts to `loss_shape`
    /// (the shape of the loss before the batch reduction).
    void check_sample_weight(const std::optional<Var<T>>& sample_weight, const Shape& loss_shape) const;

    /// Rules 2 and 3: e * sample_weight (if given), then * weight (if given).
    /// `sample_weight` must broadcast to e's shape exactly (NumPy rules); it is
    /// never reshaped. Throws ShapeError naming the loss and both shapes otherwise.
    Var<T> apply_weighting(const Var<T>& e, const std::optional<Var<T>>& sample_weight) const;
    /// As above with an explicit scalar factor in place of `weight` (L2's w/2, PoissonNLL's w/N).
    Var<T> apply_weighting(const Var<T>& e, const std::optional<Var<T>>& sample_weight,
                           std::optional<double> factor) const;

    /// mean_b: the mean of `e` over every axis except batch_axis, shape (N,).
    /// A 1-D `e` is returned as is (each element is its own sample).
    Var<T> batch_mean(const Var<T>& e) const;
    /// batch_mean(apply_weighting(e, sample_weight)): Gluon's weighting, then
    /// the per-sample mean. Weights constant over each sample (`weight`; a
    /// sample_weight of size 1 on every non-batch axis) multiply the (N,) means
    /// instead, the same value up to rounding without a pass over e. Throws as
    /// apply_weighting does.
    Var<T> weighted_batch_mean(const Var<T>& e, const std::optional<Var<T>>& sample_weight) const;
    /// As above with an explicit scalar factor in place of `weight` (L2's w/2).
    Var<T> weighted_batch_mean(const Var<T>& e, const std::optional<Var<T>>& sample_weight,
                               std::optional<double> factor) const;
    /// weighted_batch_mean(fuse(inputs, expression), sample_weight), in one
    /// pass (fuse_mean) when the weights are constant over each sample and the
    /// inputs are at least 2-D: the per-element loss is never stored.
    Var<T> weighted_batch_mean(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                               const std::optional<Var<T>>& sample_weight) const;
    /// As above with an explicit scalar factor in place of `weight` (L2's w/2).
    Var<T> weighted_batch_mean(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                               const std::optional<Var<T>>& sample_weight, std::optional<double> factor) const;
    /// batch_sum(apply_weighting(fuse(inputs, expression), sample_weight)),
    /// in one pass (fuse_sum) as the weighted_batch_mean above.
    Var<T> weighted_batch_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                              const std::optional<Var<T>>& sample_weight) const;
    /// As above with an explicit scalar factor in place of `weight` (PoissonNLL's w/N).
    Var<T> weighted_batch_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                              const std::optional<Var<T>>& sample_weight, std::optional<double> factor) const;
    /// sum_b: as batch_mean with a sum.
    Var<T> batch_sum(const Var<T>& e) const;
    /// batch_sum(fuse(inputs, expression)) in one pass (fuse_sum).
    Var<T> batch_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression) const;

    /// Records `graph(inputs)`, the loss's composition of primitives. When
    /// batch_axis is 0, `chunkable` (the samples are independent: no op of the
    /// graph mixes rows) and the batch holds more samples than one chunk of
    /// loss_chunk_elements() elements of inputs[0], the graph runs a chunk of
    /// samples at a time through chunked(), recorded as one node whose backward
    /// recomputes it: the same values and gradients, in a few passes over memory.
    /// `splits` says for each input whether it is cut by samples (see split_of).
    Var<T> evaluate(std::span<const Var<T>> inputs, std::span<const Split> splits, const SampleFn<T>& graph,
                    bool chunkable = true) const;
    /// How evaluate() hands `input` (a weight broadcast against a loss of shape
    /// `loss_shape`) to the chunks: Split::rows when it has one entry per sample
    /// along axis 0, Split::whole when it broadcasts along that axis.
    static Split split_of(const Var<T>& input, const Shape& loss_shape);

protected:
    /// For derived classes: `name` is Gluon's class name (a string literal);
    /// `weight` and `batch_axis` are stored unchecked (batch_axis is checked per call).
    Loss(const char* name, std::optional<double> weight, std::ptrdiff_t batch_axis)
        : name_(name), weight_(weight), batch_axis_(batch_axis) {}

    /// "Name(batch_axis=0, w=None": the start of every repr; the derived class
    /// appends its own options and the closing parenthesis.
    std::string repr_head() const;

private:
    // A sample_weight that is constant over each sample, as (N,) or (1,); none when there is none.
    struct PerSample {
        std::optional<Var<T>> weight;
    };
    // sample_weight as a PerSample for a loss of rank `rank`, or nullopt when it varies within a sample.
    std::optional<PerSample> per_sample_weight(const std::optional<Var<T>>& sample_weight, std::size_t rank) const;

    // The fused weighted_batch_mean (mean) and weighted_batch_sum.
    Var<T> fused_weighted_batch_reduction(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                                          const std::optional<Var<T>>& sample_weight, std::optional<double> factor,
                                          bool mean) const;

    // The axes of an array of rank `rank` other than batch_axis.
    Axes non_batch_axes(std::size_t rank) const;

    const char* name_;
    std::optional<double> weight_;
    std::ptrdiff_t batch_axis_;
};

}  // namespace xtape
