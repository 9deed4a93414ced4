// A seeded random split of a data set into a training and a test part.
#pragma once

#include <cstdint>

#include <xtensor/xarray.hpp>

namespace xtape {

/// Features and targets of the two parts; row i of `train_x` goes with row i
/// of `train_y`.
template <class T>
struct TrainTestSplit {
    /// Features of the training rows.
    xt::xarray<T> train_x;
    /// Targets of the training rows.
    xt::xarray<T> train_y;
    /// Features of the test rows.
    xt::xarray<T> test_x;
    /// Targets of the test rows.
    xt::xarray<T> test_y;
};

/// Shuffles the rows of (x, y) with `seed` and puts round(test_fraction * n) of
/// them in the test part, the rest in the training part (sizes fixed by n and
/// the fraction; which rows go where fixed by the seed). Throws ShapeError when
/// x and y have different numbers of rows (or are 0-d), ValueError when
/// test_fraction is outside (0, 1) or leaves a part empty.
template <class T>
TrainTestSplit<T> train_test_split(const xt::xarray<T>& x, const xt::xarray<T>& y, double test_fraction,
                                   std::uint64_t seed);

}  // namespace xtape
