// Shapes, axes and broadcasting rules shared by every op and loss.
#include "xtape/shape.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xtape/errors.hpp"

namespace xtape {

std::string to_string(const Shape& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

std::size_t element_count(const Shape& shape) {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op, const char* a_name,
                       const char* b_name) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        // Align from the right: axis i of the result is axis i - (rank - size) of each.
        const std::size_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
        const std::size_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
        if (da != db && da != 1 && db != 1) {
            throw ShapeError(fmt::format("{}: argument {} of shape {} does not broadcast with {} of shape {}",
                                         op, b_name, to_string(b), a_name, to_string(a)));
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const std::size_t offset = to.size() - from.size();
    for (std::size_t i = 0; i < from.size(); ++i) {
        if (from[i] != 1 && from[i] != to[i + offset]) return false;
    }
    return true;
}

std::size_t normalize_axis(std::ptrdiff_t axis, std::size_t rank, const char* op) {
    const auto r = static_cast<std::ptrdiff_t>(rank);
    if (axis < -r || axis >= r) {
        throw ShapeError(fmt::format("{}: axis {} is out of range for an array of rank {}", op, axis, rank));
    }
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

AxisList normalize_axes(const Axes& axes, std::size_t rank, const char* op) {
    AxisList out;
    if (axes.empty()) {
        for (std::size_t i = 0; i < rank; ++i) out.push_back(i);
        return out;
    }
    for (std::ptrdiff_t axis : axes) out.push_back(normalize_axis(axis, rank, op));
    std::sort(out.begin(), out.end());
    if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
        throw ShapeError(fmt::format("{}: repeated axis in ({})", op, fmt::join(axes, ", ")));
    }
    return out;
}

}  // namespace xtape
