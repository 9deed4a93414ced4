// Seeded random arrays for the op tests: the same inputs on every run.
#pragma once

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <random>

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>

#include "xtape/shape.hpp"

namespace xtape::test {

/// Values drawn uniformly from [lo, hi) with a fixed seed: the same array on every run.
inline xt::xarray<double> random_array(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(lo, hi);
    xt::xarray<double> out = xt::empty<double>(shape);
    for (double& v : out) v = uniform(rng);
    return out;
}

/// Values drawn from a normal distribution of mean 0 and deviation `stddev`
/// with a fixed seed (in double, then converted to T).
template <class T>
xt::xarray<T> random_normal(const Shape& shape, std::uint64_t seed, double stddev = 1.0) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, stddev);
    xt::xarray<T> out = xt::empty<T>(shape);
    for (T& v : out) v = static_cast<T>(normal(rng));
    return out;
}

/// As random_array, with every value at least `margin` away from `kink` (for
/// ops whose derivative jumps there, so that the finite difference never
/// straddles the kink).
inline xt::xarray<double> random_away_from(const Shape& shape, std::uint64_t seed, double kink,
                                           double margin = 0.1, double lo = -1.0, double hi = 1.0) {
    xt::xarray<double> out = random_array(shape, seed, lo, hi);
    for (double& v : out) {
        if (std::abs(v - kink) < margin) v = v < kink ? kink - margin : kink + margin;
    }
    return out;
}

/// The array converted to T (float or double).
template <class T, class U>
xt::xarray<T> as(const xt::xarray<U>& a) {
    xt::xarray<T> out = xt::empty<T>(a.shape());
    std::copy(a.begin(), a.end(), out.begin());
    return out;
}

}  // namespace xtape::test
