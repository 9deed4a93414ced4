// Standardisation: centring each feature column and scaling it to unit variance.
#include "xtape/data/standardizer.hpp"

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xview.hpp>

#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

template <class T>
Standardizer<T> Standardizer<T>::fit(const xt::xarray<T>& x) {
    if (x.dimension() != 2 || x.shape()[0] == 0) {
        throw ShapeError(fmt::format("Standardizer::fit: argument x must be 2-D with at least one row, got shape {}",
                                     to_string(x.shape())));
    }
    xt::xarray<T> mean = xt::mean(x, {0});
    xt::xarray<T> variance = xt::mean(xt::square(x - mean), {0});
    xt::xarray<T> scale = xt::sqrt(variance);
    // A constant column carries no information; scaling it by 1 keeps it at 0
    // instead of dividing by zero.
    scale = xt::where(scale > T(0), scale, T(1));
    return Standardizer(std::move(mean), std::move(scale));
}

template <class T>
xt::xarray<T> Standardizer<T>::transform(const xt::xarray<T>& x) const {
    if (x.dimension() != 2 || x.shape()[1] != mean_.size()) {
        throw ShapeError(fmt::format("Standardizer::transform: argument x must be 2-D with {} columns, got shape {}",
                                     mean_.size(), to_string(x.shape())));
    }
    return (x - mean_) / scale_;
}

template class Standardizer<float>;
template class Standardizer<double>;

}  // namespace xtape
