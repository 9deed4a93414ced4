// An array seen as (outer, n, inner) around one axis: how pick, gather and the softmax rows index it.
#pragma once

#include <cstddef>

#include "xtape/shape.hpp"

namespace xtape::kernels {

/// Element (o, j, i) of a row-major array sits at flat position
/// (o * n + j) * inner + i, with n the length of `axis`. When inner == 1 every
/// slice along the axis is a contiguous row of length n.
struct AxisLayout {
    std::size_t outer = 1;
    std::size_t n = 1;
    std::size_t inner = 1;

    AxisLayout(const Shape& shape, std::size_t axis) : n(shape[axis]) {
        for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
        for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    }
    /// Contiguous, non-empty rows along the axis (what the fused row kernels need).
    bool contiguous_rows() const { return inner == 1 && outer * n != 0; }
};

}  // namespace xtape::kernels
