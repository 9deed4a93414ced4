// Selecting rows (entries along axis 0) of an array by index.
#pragma once

#include <cstddef>
#include <span>

#include <xtensor/xarray.hpp>

namespace xtape {

/// out[i, ...] = a[rows[i], ...]; the result has shape (rows.size(), a.shape[1:]).
/// Throws ShapeError when `a` is 0-d and ValueError naming the index when a row
/// is out of range.
template <class T>
xt::xarray<T> take_rows(const xt::xarray<T>& a, std::span<const std::size_t> rows);

}  // namespace xtape
