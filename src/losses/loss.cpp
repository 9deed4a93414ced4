// The base of every Gluon loss: label reshape, weighting and the batch reductions.
#include "xtape/losses/loss.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/fuse.hpp"
#include "xtape/ops.hpp"

namespace xtape {

template <class T>
void check_reshapable_like(const Var<T>& label, const Var<T>& pred, const char* loss_name, const char* arg_name) {
    if (label.size() != pred.size()) {
        throw ShapeError(fmt::format("{}: {} of shape {} has {} elements, pred of shape {} has {}", loss_name,
                                     arg_name, to_string(label.shape()), label.size(), to_string(pred.shape()),
                                     pred.size()));
    }
}

template <class T>
Var<T> reshape_like(const Var<T>& label, const Var<T>& pred, const char* loss_name, const char* arg_name) {
    if (label.shape() == pred.shape()) return label;
    check_reshapable_like(label, pred, loss_name, arg_name);
    return reshape(label, pred.shape());
}

template <class T>
IndexArray class_indices(const xt::xarray<T>& label, std::size_t num_classes, const char* loss_name,
                         const char* arg_name) {
    IndexArray index = xt::empty<std::int64_t>(label.shape());
    for (std::size_t i = 0; i < label.size(); ++i) {
        const T v = label.flat(i);
        // The negated test also rejects NaN.
        if (!(v >= T(0) && v <= T(num_classes) - T(1) && std::floor(v) == v)) {
            throw ValueError(fmt::format("{}: {} value {} at flat index {} is not a class index in [0, {}]",
                                         loss_name, arg_name, v, i, num_classes - 1));
        }
        index.flat(i) = static_cast<std::int64_t>(v);
    }
    return index;
}

std::string weight_repr(const std::optional<double>& weight) {
    return weight ? fmt::format("{}", *weight) : std::string("None");
}

template <class T>
void Loss<T>::check_batch_axis(const Var<T>& input) const {
    const std::size_t batch = normalize_axis(batch_axis_, input.dimension(), name_);
    // Checked here, before the loss records anything, rather than by batch_mean at the end.
    for (std::size_t axis = 0; axis < input.dimension(); ++axis) {
        if (axis != batch && input.shape()[axis] == 0) {
            throw ShapeError(fmt::format("{}: input of shape {} has an empty axis {} besides the batch axis {}",
                                         name_, to_string(input.shape()), axis, batch));
        }
    }
}

template <class T>
void Loss<T>::check_sample_weight(const std::optional<Var<T>>& sample_weight, const Shape& loss_shape) const {
    if (sample_weight && !broadcasts_to(sample_weight->shape(), loss_shape)) {
        throw ShapeError(fmt::format("{}: sample_weight of shape {} does not broadcast to the loss of shape {}",
                                     name_, to_string(sample_weight->shape()), to_string(loss_shape)));
    }
}

template <class T>
Var<T> Loss<T>::apply_weighting(const Var<T>& e, const std::optional<Var<T>>& sample_weight) const {
    return apply_weighting(e, sample_weight, weight_);
}

template <class T>
Var<T> Loss<T>::apply_weighting(const Var<T>& e, const std::optional<Var<T>>& sample_weight,
                                std::optional<double> factor) const {
    Var<T> out = e;
    if (sample_weight) {
        check_sample_weight(sample_weight, e.shape());
        out = mul(out, *sample_weight);
    }
    if (factor) out = mul(out, static_cast<T>(*factor));
    return out;
}

template <class T>
Axes Loss<T>::non_batch_axes(std::size_t rank) const {
    const std::size_t batch = normalize_axis(batch_axis_, rank, name_);
    Axes axes;
    for (std::size_t i = 0; i < rank; ++i) {
        if (i != batch) axes.push_back(static_cast<std::ptrdiff_t>(i));
    }
    return axes;
}

template <class T>
Var<T> Loss<T>::batch_mean(const Var<T>& e) const {
    if (e.dimension() == 1) return e;
    return mean(e, non_batch_axes(e.dimension()));
}

template <class T>
Var<T> Loss<T>::batch_sum(const Var<T>& e) const {
    if (e.dimension() == 1) return e;
    return sum(e, non_batch_axes(e.dimension()));
}

template <class T>
Var<T> Loss<T>::batch_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression) const {
    const std::size_t rank = inputs[0].dimension();
    if (rank <= 1) return fuse(inputs, expression);
    return fuse_sum(inputs, expression, non_batch_axes(rank));
}

template <class T>
Var<T> Loss<T>::weighted_batch_mean(const Var<T>& e, const std::optional<Var<T>>& sample_weight) const {
    return weighted_batch_mean(e, sample_weight, weight_);
}

template <class T>
Var<T> Loss<T>::weighted_batch_mean(const Var<T>& e, const std::optional<Var<T>>& sample_weight,
                                    std::optional<double> factor) const {
    if (e.dimension() <= 1) return apply_weighting(e, sample_weight, factor);  // each element its own sample
    check_sample_weight(sample_weight, e.shape());
    const std::optional<PerSample> per_sample = per_sample_weight(sample_weight, e.dimension());
    if (!per_sample) return batch_mean(apply_weighting(e, sample_weight, factor));  // varies within a sample
    return apply_weighting(batch_mean(e), per_sample->weight, factor);
}

template <class T>
Var<T> Loss<T>::weighted_batch_mean(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                                    const std::optional<Var<T>>& sample_weight) const {
    return fused_weighted_batch_reduction(inputs, expression, sample_weight, weight_, true);
}

template <class T>
Var<T> Loss<T>::weighted_batch_mean(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                                    const std::optional<Var<T>>& sample_weight, std::optional<double> factor) const {
    return fused_weighted_batch_reduction(inputs, expression, sample_weight, factor, true);
}

template <class T>
Var<T> Loss<T>::weighted_batch_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                                   const std::optional<Var<T>>& sample_weight) const {
    return fused_weighted_batch_reduction(inputs, expression, sample_weight, weight_, false);
}

template <class T>
Var<T> Loss<T>::weighted_batch_sum(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                                   const std::optional<Var<T>>& sample_weight, std::optional<double> factor) const {
    return fused_weighted_batch_reduction(inputs, expression, sample_weight, factor, false);
}

template <class T>
Var<T> Loss<T>::fused_weighted_batch_reduction(std::span<const Var<T>> inputs, const ElementwiseFn& expression,
                                               const std::optional<Var<T>>& sample_weight,
                                               std::optional<double> factor, bool mean) const {
    const std::size_t rank = inputs[0].dimension();
    const std::optional<PerSample> per_sample =
        rank <= 1 ? std::nullopt : per_sample_weight(sample_weight, rank);
    if (!per_sample) {
        const Var<T> e = fuse(inputs, expression);
        return mean ? weighted_batch_mean(e, sample_weight, factor)
                    : batch_sum(apply_weighting(e, sample_weight, factor));
    }
    check_sample_weight(sample_weight, inputs[0].shape());
    const Axes axes = non_batch_axes(rank);
    // The factor scales each element, as Gluon weights the loss before its
    // mean: after the reduction its backward would be one more pass over the
    // gradient rows, in memory; inside the expression it is a pass in the cache.
    const ElementwiseFn scaled = [&](std::span<const ElementwiseExpr> v) { return expression(v) * *factor; };
    const ElementwiseFn& weighted = factor ? scaled : expression;
    const Var<T> reduced = mean ? fuse_mean(inputs, weighted, axes) : fuse_sum(inputs, weighted, axes);
    return apply_weighting(reduced, per_sample->weight, std::nullopt);
}

template <class T>
auto Loss<T>::per_sample_weight(const std::optional<Var<T>>& sample_weight, std::size_t rank) const
    -> std::optional<PerSample> {
    if (!sample_weight) return PerSample{};
    const std::size_t batch = normalize_axis(batch_axis_, rank, name_);
    const Shape& shape = sample_weight->shape();
    if (shape.size() > rank) return std::nullopt;  // does not broadcast: the weighting reports it
    const std::size_t offset = rank - shape.size();  // broadcasting aligns trailing axes
    std::size_t samples = 1;
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (d + offset == batch) {
            samples = shape[d];
        } else if (shape[d] != 1) {
            return std::nullopt;
        }
    }
    return PerSample{reshape(*sample_weight, Shape{samples})};
}

template <class T>
Var<T> Loss<T>::evaluate(std::span<const Var<T>> inputs, std::span<const Split> splits, const SampleFn<T>& graph,
                         bool chunkable) const {
    const Var<T>& main = inputs[0];
    const std::size_t budget = loss_chunk_elements();
    const bool by_rows = chunkable && budget > 0 && main.dimension() > 0 &&
                         normalize_axis(batch_axis_, main.dimension(), name_) == 0 && main.size() > 0;
    if (!by_rows) return graph(inputs);
    const std::size_t row_elements = main.size() / main.shape()[0];
    return chunked(graph, inputs, splits, std::max<std::size_t>(1, budget / row_elements));
}

template <class T>
Split Loss<T>::split_of(const Var<T>& input, const Shape& loss_shape) {
    const bool per_sample = input.dimension() == loss_shape.size() && !loss_shape.empty() &&
                            input.shape()[0] == loss_shape[0] && loss_shape[0] != 1;
    return per_sample ? Split::rows : Split::whole;
}

template <class T>
std::string Loss<T>::repr_head() const {
    return fmt::format("{}(batch_axis={}, w={}", name_, batch_axis_, weight_repr(weight_));
}

#define XTAPE_INSTANTIATE(T)                                                                             \
    template Var<T> reshape_like(const Var<T>&, const Var<T>&, const char*, const char*);               \
    template void check_reshapable_like(const Var<T>&, const Var<T>&, const char*, const char*);        \
    template IndexArray class_indices(const xt::xarray<T>&, std::size_t, const char*, const char*);     \
    template class Loss<T>;

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
