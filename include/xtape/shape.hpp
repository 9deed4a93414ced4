// Shapes, axes and broadcasting rules shared by every op and loss.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xstorage.hpp>

namespace xtape {

/// The shape of an array, outermost axis first (as xt::xarray stores it).
using Shape = xt::xarray<double>::shape_type;
/// A list of axes; negative axes count from the end, as in NumPy. Up to four
/// are stored inline, as Shape stores its extents, so that passing axes to an
/// op allocates nothing. A class of xtape's own rather than an alias of
/// xt::svector: an unqualified call such as sum(x, axes) must find xtape's
/// ops, never xtensor's by argument-dependent lookup.
class Axes {
public:
    using value_type = std::ptrdiff_t;  ///< An axis, negative from the end.
    using iterator = std::ptrdiff_t*;  ///< Walks the axes in order.
    using const_iterator = const std::ptrdiff_t*;  ///< Walks the axes in order, read only.

    Axes() = default;
    Axes(std::initializer_list<std::ptrdiff_t> axes) : axes_(axes) {}  ///< The axes listed: `{0, -1}`.
    template <std::input_iterator It>
    Axes(It first, It last) : axes_(first, last) {}  ///< The axes of a range.

    std::size_t size() const { return axes_.size(); }  ///< The number of axes.
    bool empty() const { return axes_.empty(); }  ///< True for no axes (every axis, to a reduction).
    std::ptrdiff_t operator[](std::size_t i) const { return axes_[i]; }  ///< Axis i of the list.
    std::ptrdiff_t& operator[](std::size_t i) { return axes_[i]; }  ///< Axis i of the list, to change.
    const_iterator begin() const { return axes_.begin(); }  ///< The first axis.
    const_iterator end() const { return axes_.end(); }  ///< Past the last axis.
    iterator begin() { return axes_.begin(); }  ///< The first axis, to change.
    iterator end() { return axes_.end(); }  ///< Past the last axis.
    void push_back(std::ptrdiff_t axis) { axes_.push_back(axis); }  ///< Appends `axis`.
    friend bool operator==(const Axes& a, const Axes& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }
    ///< True for the same axes in the same order.
private:
    xt::svector<std::ptrdiff_t, 4> axes_;
};
/// Axes normalised into [0, rank) and sorted (normalize_axes), inline as Axes.
using AxisList = xt::svector<std::size_t, 4>;
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
AxisList normalize_axes(const Axes& axes, std::size_t rank, const char* op);

}  // namespace xtape
