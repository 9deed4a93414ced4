// Reducing a broadcast gradient back to the shape of the input it belongs to.
#include "xtape/detail/sum_to.hpp"

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xreducer.hpp>

#include "kernels/reduction.hpp"
#include "xtape/errors.hpp"

namespace xtape::detail {

std::vector<std::size_t> broadcast_axes(const Shape& from, const Shape& target, const char* op) {
    if (!broadcasts_to(target, from)) {
        throw ShapeError(fmt::format("{}: gradient of shape {} cannot be reduced to shape {}", op,
                                     to_string(from), to_string(target)));
    }
    const std::size_t offset = from.size() - target.size();
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < from.size(); ++i) {
        if (i < offset || (target[i - offset] == 1 && from[i] != 1)) axes.push_back(i);
    }
    return axes;
}

template <class T>
xt::xarray<T> sum_to(const xt::xarray<T>& g, const Shape& target, const char* op) {
    const Shape& from = g.shape();
    const std::vector<std::size_t> axes = broadcast_axes(from, target, op);
    if (from == target) return g;
    // xtensor's reducers walk an empty array's null data pointer; the sum is 0.
    if (g.size() == 0) return xt::zeros<T>(target);
    // Leading axes, a size-1 axis, a scalar: one contiguous block, summed by the
    // kernel straight into the target's layout (the kept axes keep their order).
    if (const auto block = kernels::block_reduction(from, axes)) {
        xt::xarray<T> reduced = xt::empty<T>(target);
        kernels::sum_block(g.data(), *block, reduced.data());
        return reduced;
    }
    xt::xarray<T> reduced = xt::sum(g, axes);
    reduced.reshape(target);
    return reduced;
}

template xt::xarray<float> sum_to(const xt::xarray<float>&, const Shape&, const char*);
template xt::xarray<double> sum_to(const xt::xarray<double>&, const Shape&, const char*);

}  // namespace xtape::detail
