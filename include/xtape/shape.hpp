// Shapes, axes and broadcasting rules shared by every op and loss.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace xtape {

/// The shape of an array, outermost axis first (as xt::xarray stores it).
using Shape = xt::xarray<double>::shape_type;
/// A list of axes; negative axes count from the end, as in NumPy.
using Axes = std::vector<std::ptrdiff_t>;
/// Integer indices for pick and gather.
using IndexArray = xt::xarray<std::int64_t>;
/// A boolean mask for where().
using Mask = xt::xarray<bool>;

/// "(2, 3)", or "()" for a 0-d shape.
std::string to_string(const Shape& shape);

/// Number of elements of a shape (1 for a 0-d shape).
std::size_t element_count(const Shape& shape);

/// NumPy broadcasting of two shapes; throws ShapeError naming `op` and both
/// arguments when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op,
                       const char* a_name = "a", const char* b_name = "b");

/// True when `from` broadcasts to exactly `to` (NumPy rules, `to` unchanged).
bool broadcasts_to(const Shape& from, const Shape& to);

/// Normalises `axis` for an array of rank `rank` into [0, rank); throws
/// ShapeError naming `op` when it is out of range.
std::size_t normalize_axis(std::ptrdiff_t axis, std::size_t rank, const char* op);

/// Normalises and sorts a list of axes; an empty list means every axis.
/// Throws on out-of-range or repeated axes.
std::vector<std::size_t> normalize_axes(const Axes& axes, std::size_t rank, const char* op);

}  // namespace xtape
