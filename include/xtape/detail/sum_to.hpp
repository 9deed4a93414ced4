// Reducing a broadcast gradient back to the shape of the input it belongs to, and its adjoint, broadcasting.
#pragma once

#include <xtensor/xarray.hpp>

#include "xtape/shape.hpp"

namespace xtape::detail {

/// The axes of `from` along which `target` was broadcast to it: the leading
/// axes that `target` lacks, and those where `target` has size 1 and `from`
/// does not. Throws ShapeError naming `op` (a gradient of shape `from` that
/// cannot be reduced to `target`) when `target` does not broadcast to `from`.
AxisList broadcast_axes(const Shape& from, const Shape& target, const char* op);

/// Writes `a` repeated over out's shape, which a's shape broadcasts to: the
/// adjoint of sum_to. When the repeated axes form one block (a scalar, a row
/// per sample, a column, a middle axis), each element or row is filled or
/// copied over its block in contiguous runs; other patterns go through
/// xtensor's broadcast, which walks the output element by element.
template <class T>
void broadcast_copy(const xt::xarray<T>& a, xt::xarray<T>& out);

/// Sums `g` over the axes along which `out`'s shape (the target) was broadcast
/// (leading axes that the target lacks, and axes where it has size 1) into
/// `out`. Throws ShapeError naming `op` when the target does not broadcast to
/// g's shape.
template <class T>
void sum_to(const xt::xarray<T>& g, xt::xarray<T>& out, const char* op);

}  // namespace xtape::detail
