// The inputs of a loss's graph, and how chunked evaluation cuts each by samples.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include <xtensor/xstorage.hpp>

#include "xtape/chunked.hpp"
#include "xtape/losses/loss.hpp"

namespace xtape::detail {

/// How chunked() hands an input that broadcasts against a loss of shape
/// `loss_shape` to the chunks: by rows when it has one entry per sample along
/// axis 0, whole when it broadcasts along that axis.
template <class T>
Split split_of(const Var<T>& input, const Shape& loss_shape) {
    const bool per_sample = input.dimension() == loss_shape.size() && !loss_shape.empty() &&
                            input.shape()[0] == loss_shape[0] && loss_shape[0] != 1;
    return per_sample ? Split::rows : Split::whole;
}

/// The inputs of a loss's graph, in the order the execution layer hands them
/// over, and how each is cut by samples.
template <class T>
class GraphInputs {
public:
    /// Adds an input with one row per sample (pred, a label reshaped like it); returns its position.
    std::size_t add_rows(const Var<T>& input) {
        vars_.push_back(input);
        splits_.push_back(Split::rows);
        return vars_.size() - 1;
    }
    /// Adds an optional weight that broadcasts against a loss of shape
    /// `loss_shape`; returns its position when it is given.
    std::optional<std::size_t> add_weight(const std::optional<Var<T>>& weight, const Shape& loss_shape) {
        if (!weight) return std::nullopt;
        vars_.push_back(*weight);
        splits_.push_back(split_of(*weight, loss_shape));
        return vars_.size() - 1;
    }
    /// As add_weight, for the loss's sample_weight, whose position sample_weight_at() then gives.
    std::optional<std::size_t> add_sample_weight(const std::optional<Var<T>>& weight, const Shape& loss_shape) {
        sample_weight_at_ = add_weight(weight, loss_shape);
        return sample_weight_at_;
    }
    std::span<const Var<T>> vars() const { return {vars_.data(), vars_.size()}; }
    std::span<const Split> splits() const { return {splits_.data(), splits_.size()}; }
    /// The position of the sample weight, when one was added.
    std::optional<std::size_t> sample_weight_at() const { return sample_weight_at_; }

private:
    // Inline for the few inputs of a loss (pred, label, weights, a mask).
    xt::svector<Var<T>, 6> vars_;
    xt::svector<Split, 6> splits_;
    std::optional<std::size_t> sample_weight_at_;
};

/// The inputs of most losses: pred, the label reshaped like it (rule 1; throws
/// ShapeError naming `loss_name` as reshape_like does), and the sample weight
/// when given, broadcast against pred's shape.
template <class T>
GraphInputs<T> pred_label_inputs(const Var<T>& pred, const Var<T>& label, const std::optional<Var<T>>& sample_weight,
                                 const char* loss_name) {
    GraphInputs<T> in;
    in.add_rows(pred);
    in.add_rows(reshape_like(label, pred, loss_name, "label"));
    in.add_sample_weight(sample_weight, pred.shape());
    return in;
}

/// The graph's input at position `at`, when `at` is set.
template <class T>
std::optional<Var<T>> input_at(std::span<const Var<T>> inputs, std::optional<std::size_t> at) {
    if (!at) return std::nullopt;
    return inputs[*at];
}

}  // namespace xtape::detail
