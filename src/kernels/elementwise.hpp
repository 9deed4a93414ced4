// Whole-array elementwise kernels: one SIMD pass over arrays of one shape into a fresh array.
#pragma once

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>

#include "simd_loop.hpp"

namespace xtape::kernels {

/// True when every array has the first one's shape, so that one flat pass over
/// their (row-major, contiguous) buffers pairs the right elements. (Not named
/// same_shape: an unqualified call with two xarrays would find xt::same_shape
/// by argument-dependent lookup, which compares the arrays' values.)
template <class T, class... Rest>
bool shapes_agree(const xt::xarray<T>& first, const Rest&... rest) {
    return ((rest.shape() == first.shape()) && ...);
}

/// An array of first's shape holding f(first[i], rest[i], ...), with f a
/// function of Batch<T>s, its storage from `storage.buffer(shape)` (a Tape or
/// a GradContext). Every array must have first's shape (see shapes_agree).
template <class T, class Storage, class F, class... Rest>
xt::xarray<T> mapped(Storage& storage, F f, const xt::xarray<T>& first, const Rest&... rest) {
    xt::xarray<T> out = storage.buffer(first.shape());
    map(first.size(), out.data(), f, first.data(), rest.data()...);
    return out;
}

/// An array of first's shape holding kernel(first, rest...), for a kernel over
/// contiguous buffers called as kernel(first, rest..., out, n) (those of
/// math.hpp), its storage from `storage.buffer(shape)`. Every array must have
/// first's shape.
template <class T, class Storage, class Kernel, class... Rest>
xt::xarray<T> transformed(Storage& storage, Kernel kernel, const xt::xarray<T>& first, const Rest&... rest) {
    xt::xarray<T> out = storage.buffer(first.shape());
    kernel(first.data(), rest.data()..., out.data(), first.size());
    return out;
}

}  // namespace xtape::kernels
