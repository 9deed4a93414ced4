// Selecting rows (entries along axis 0) of an array by index.
#include "xtape/data/take_rows.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

template <class T>
xt::xarray<T> take_rows(const xt::xarray<T>& a, std::span<const std::size_t> rows) {
    if (a.dimension() == 0) throw ShapeError("take_rows: argument a must have at least one axis, got shape ()");
    const std::size_t count = a.shape()[0];
    Shape shape = a.shape();
    shape[0] = rows.size();
    xt::xarray<T> out(shape);
    // a is row-major, so each row is a contiguous block of `width` elements.
    const std::size_t width = count == 0 ? 0 : a.size() / count;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] >= count) {
            throw ValueError(fmt::format("take_rows: row index {} at position {} is out of range for {} rows",
                                         rows[i], i, count));
        }
        std::copy_n(a.data() + rows[i] * width, width, out.data() + i * width);
    }
    return out;
}

template xt::xarray<float> take_rows(const xt::xarray<float>&, std::span<const std::size_t>);
template xt::xarray<double> take_rows(const xt::xarray<double>&, std::span<const std::size_t>);

}  // namespace xtape
