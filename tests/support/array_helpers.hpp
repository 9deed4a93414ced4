// Small array builders and predicates shared by the loss tests.
#pragma once

#include <algorithm>
#include <initializer_list>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "xtape/shape.hpp"

namespace xtape::test {

/// An (n, 1) column; a literal {{a}, {b}} is ambiguous among xt::xarray's constructors.
template <class T>
xt::xarray<T> column(std::initializer_list<T> values) {
    xt::xarray<T> out = xt::empty<T>(Shape{values.size(), 1});
    std::copy(values.begin(), values.end(), out.begin());
    return out;
}

/// True when no element is NaN or infinite.
template <class T>
bool all_finite(const xt::xarray<T>& a) {
    return xt::all(xt::isfinite(a));
}

}  // namespace xtape::test
