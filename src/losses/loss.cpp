// The base of every Gluon loss: label reshape, weighting and the batch reductions.
#include "xtape/losses/loss.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"
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
void check_class_indices(const xt::xarray<T>& label, std::size_t num_classes, const char* loss_name,
                         const char* arg_name) {
    for (std::size_t i = 0; i < label.size(); ++i) {
        const T v = label.flat(i);
        // The negated test also rejects NaN.
        if (!(v >= T(0) && v <= T(num_classes) - T(1) && std::floor(v) == v)) {
            throw ValueError(fmt::format("{}: {} value {} at flat index {} is not a class index in [0, {}]",
                                         loss_name, arg_name, v, i, num_classes - 1));
        }
    }
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

#define XTAPE_INSTANTIATE(T)                                                                             \
    template Var<T> reshape_like(const Var<T>&, const Var<T>&, const char*, const char*);               \
    template void check_reshapable_like(const Var<T>&, const Var<T>&, const char*, const char*);        \
    template void check_class_indices(const xt::xarray<T>&, std::size_t, const char*, const char*);     \
    template class Loss<T>;

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
