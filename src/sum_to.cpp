// Reducing a broadcast gradient back to the shape of the input it belongs to, and its adjoint, broadcasting.
#include "xtape/detail/sum_to.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xreducer.hpp>

#include "kernels/reduction.hpp"
#include "xtape/errors.hpp"

namespace xtape::detail {

AxisList broadcast_axes(const Shape& from, const Shape& target, const char* op) {
    if (!broadcasts_to(target, from)) {
        throw ShapeError(fmt::format("{}: gradient of shape {} cannot be reduced to shape {}", op,
                                     to_string(from), to_string(target)));
    }
    const std::size_t offset = from.size() - target.size();
    AxisList axes;
    for (std::size_t i = 0; i < from.size(); ++i) {
        if (i < offset || (target[i - offset] == 1 && from[i] != 1)) axes.push_back(i);
    }
    return axes;
}

template <class T>
void broadcast_copy(const xt::xarray<T>& a, xt::xarray<T>& out) {
    if (a.size() == 1 && a.dimension() <= out.dimension()) {  // one value (a bias of one output): it fills out
        std::fill(out.begin(), out.end(), a.data()[0]);
        return;
    }
    const AxisList axes = broadcast_axes(out.shape(), a.shape(), "broadcast");
    const auto block = kernels::block_reduction(out.shape(), axes);
    if (!block) {
        xt::noalias(out) = xt::broadcast(a, out.shape());
    } else if (block->reduced == 1) {
        std::copy_n(a.data(), a.size(), out.data());  // nothing repeats: the same elements
    } else {
        kernels::broadcast_block(a.data(), *block, T(1), out.data());  // divided by 1: copied
    }
}

template <class T>
void sum_to(const xt::xarray<T>& g, xt::xarray<T>& out, const char* op) {
    const Shape& from = g.shape();
    const AxisList axes = broadcast_axes(from, out.shape(), op);
    if (from == out.shape()) {
        std::copy_n(g.data(), g.size(), out.data());
    } else if (g.size() == 0) {
        // xtensor's reducers walk an empty array's null data pointer; the sum is 0.
        std::fill_n(out.data(), out.size(), T(0));
    } else if (const auto block = kernels::block_reduction(from, axes)) {
        // Leading axes, a size-1 axis, a scalar: one contiguous block, summed by the
        // kernel straight into the target's layout (the kept axes keep their order).
        kernels::sum_block(g.data(), *block, out.data());
    } else {
        const xt::xarray<T> reduced = xt::sum(g, axes);
        std::copy_n(reduced.data(), reduced.size(), out.data());
    }
}

template void broadcast_copy(const xt::xarray<float>&, xt::xarray<float>&);
template void broadcast_copy(const xt::xarray<double>&, xt::xarray<double>&);
template void sum_to(const xt::xarray<float>&, xt::xarray<float>&, const char*);
template void sum_to(const xt::xarray<double>&, xt::xarray<double>&, const char*);

}  // namespace xtape::detail
