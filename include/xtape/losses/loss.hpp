// The base of every Gluon loss: `weight`, `batch_axis`, and the steps all losses share.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "xtape/execution.hpp"
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

/// Checks sparse class labels (floats holding whole numbers): each must be an
/// index in [0, num_classes - 1]. Throws ValueError naming `loss_name`,
/// `arg_name`, the first offending value and its flat index when a label is
/// not an integer (NaN included) or is out of range.
template <class T>
void check_class_indices(const xt::xarray<T>& label, std::size_t num_classes, const char* loss_name,
                         const char* arg_name);

/// A loss's `weight` as Gluon prints it: "None", or the number ("0.5").
std::string weight_repr(const std::optional<double>& weight);

/// What every Gluon loss holds: a scalar `weight` (None = absent) and the
/// `batch_axis` (negative counts from the end), with the steps of the contract
/// that every loss shares. Derived classes give their Gluon class name. How a
/// loss runs (fused, in chunks or as plain primitives) is up to the execution
/// layer (xtape/execution.hpp).
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

    /// Rules 2 and 3: e * sample_weight (if given), then * factor (if given:
    /// the weight, or a loss's own scalar such as L2's w/2). `sample_weight`
    /// must broadcast to e's shape exactly (NumPy rules); it is never
    /// reshaped. Throws ShapeError naming the loss and both shapes otherwise.
    Var<T> apply_weighting(const Var<T>& e, const std::optional<Var<T>>& sample_weight,
                           std::optional<double> factor) const;
    /// mean_b: the mean of `e` over every axis except batch_axis, shape (N,).
    /// A 1-D `e` is returned as is (each element is its own sample).
    Var<T> batch_mean(const Var<T>& e) const;
    /// sum_b: as batch_mean with a sum.
    Var<T> batch_sum(const Var<T>& e) const;
    /// The axes of an array of rank `rank` other than batch_axis.
    Axes non_batch_axes(std::size_t rank) const;

protected:
    /// For derived classes: `name` is Gluon's class name (a string literal);
    /// `weight` and `batch_axis` are stored unchecked (batch_axis is checked per call).
    Loss(const char* name, std::optional<double> weight, std::ptrdiff_t batch_axis)
        : name_(name), weight_(weight), batch_axis_(batch_axis) {}

private:
    const char* name_;
    std::optional<double> weight_;
    std::ptrdiff_t batch_axis_;
};

}  // namespace xtape
