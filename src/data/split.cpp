// A seeded random split of a data set into a training and a test part.
#include "xtape/data/split.hpp"

#include <cmath>
#include <span>

#include <fmt/format.h>

#include "xtape/data/random.hpp"
#include "xtape/data/take_rows.hpp"
#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

template <class T>
TrainTestSplit<T> train_test_split(const xt::xarray<T>& x, const xt::xarray<T>& y, double test_fraction,
                                   std::uint64_t seed) {
    if (x.dimension() == 0 || y.dimension() == 0 || x.shape()[0] != y.shape()[0]) {
        throw ShapeError(fmt::format("train_test_split: x of shape {} and y of shape {} need the same number of rows",
                                     to_string(x.shape()), to_string(y.shape())));
    }
    if (!(test_fraction > 0 && test_fraction < 1)) {
        throw ValueError(fmt::format("train_test_split: test_fraction must lie in (0, 1), got {}", test_fraction));
    }
    const std::size_t n = x.shape()[0];
    const auto n_test = static_cast<std::size_t>(std::lround(test_fraction * static_cast<double>(n)));
    if (n_test == 0 || n_test == n) {
        throw ValueError(fmt::format("train_test_split: test_fraction {} of {} rows leaves a part empty",
                                     test_fraction, n));
    }
    Rng rng(seed);
    const std::vector<std::size_t> order = permutation(n, rng);
    const std::span<const std::size_t> test_rows(order.data(), n_test);
    const std::span<const std::size_t> train_rows(order.data() + n_test, n - n_test);
    return {take_rows(x, train_rows), take_rows(y, train_rows), take_rows(x, test_rows), take_rows(y, test_rows)};
}

template TrainTestSplit<float> train_test_split(const xt::xarray<float>&, const xt::xarray<float>&, double,
                                                std::uint64_t);
template TrainTestSplit<double> train_test_split(const xt::xarray<double>&, const xt::xarray<double>&, double,
                                                 std::uint64_t);

}  // namespace xtape
