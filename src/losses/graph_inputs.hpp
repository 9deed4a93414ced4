// The inputs of a loss's graph in the order Loss::evaluate hands them over, and how each is cut by samples.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "xtape/chunked.hpp"
#include "xtape/losses/loss.hpp"

namespace xtape::detail {

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
        splits_.push_back(Loss<T>::split_of(*weight, loss_shape));
        return vars_.size() - 1;
    }
    std::span<const Var<T>> vars() const { return vars_; }
    std::span<const Split> splits() const { return splits_; }

private:
    std::vector<Var<T>> vars_;
    std::vector<Split> splits_;
};

/// The graph's input at position `at`, when `at` is set.
template <class T>
std::optional<Var<T>> input_at(std::span<const Var<T>> inputs, std::optional<std::size_t> at) {
    if (!at) return std::nullopt;
    return inputs[*at];
}

}  // namespace xtape::detail
