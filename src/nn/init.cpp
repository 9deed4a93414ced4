// Seeded weight initialisation: Glorot (Xavier) uniform and He normal.
#include "xtape/nn/init.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xtape/errors.hpp"
#include "xtape/shape.hpp"

namespace xtape {

namespace {
void check_fans(std::size_t fan_in, std::size_t fan_out, const char* init) {
    if (fan_in == 0 || fan_out == 0) {
        throw ValueError(fmt::format("{}: fan_in and fan_out must be positive, got {} and {}", init, fan_in, fan_out));
    }
}
}  // namespace

template <class T>
xt::xarray<T> glorot_uniform(std::size_t fan_in, std::size_t fan_out, Rng& rng) {
    check_fans(fan_in, fan_out, "glorot_uniform");
    const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    xt::xarray<T> w(Shape{fan_in, fan_out});
    for (auto& x : w) x = static_cast<T>(limit * (2.0 * uniform01(rng) - 1.0));
    return w;
}

template <class T>
xt::xarray<T> he_normal(std::size_t fan_in, std::size_t fan_out, Rng& rng) {
    check_fans(fan_in, fan_out, "he_normal");
    const double stddev = std::sqrt(2.0 / static_cast<double>(fan_in));
    xt::xarray<T> w(Shape{fan_in, fan_out});
    for (auto& x : w) x = static_cast<T>(stddev * standard_normal(rng));
    return w;
}

template xt::xarray<float> glorot_uniform(std::size_t, std::size_t, Rng&);
template xt::xarray<double> glorot_uniform(std::size_t, std::size_t, Rng&);
template xt::xarray<float> he_normal(std::size_t, std::size_t, Rng&);
template xt::xarray<double> he_normal(std::size_t, std::size_t, Rng&);

}  // namespace xtape
