// Seeded weight initialisation: Glorot (Xavier) uniform and He normal.
#pragma once

#include <cstddef>

#include <xtensor/xarray.hpp>

#include "xtape/data/random.hpp"

namespace xtape {

/// A (fan_in, fan_out) matrix drawn from U(-a, a) with a = sqrt(6 / (fan_in +
/// fan_out)) (Glorot and Bengio, 2010): it keeps the variance of activations
/// and gradients about constant through linear and tanh layers. Throws
/// ValueError when a fan is 0.
template <class T>
xt::xarray<T> glorot_uniform(std::size_t fan_in, std::size_t fan_out, Rng& rng);

/// A (fan_in, fan_out) matrix drawn from N(0, 2 / fan_in) (He et al., 2015): the
/// factor 2 makes up for relu zeroing half of its inputs. Throws ValueError
/// when a fan is 0.
template <class T>
xt::xarray<T> he_normal(std::size_t fan_in, std::size_t fan_out, Rng& rng);

}  // namespace xtape
