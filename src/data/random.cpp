// Seeded random numbers that are the same on every platform and standard library.
#include "xtape/data/random.hpp"

#include <cmath>
#include <numbers>
#include <numeric>

#include <fmt/format.h>

#include "xtape/errors.hpp"

namespace xtape {

double uniform01(Rng& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

std::size_t uniform_index(Rng& rng, std::size_t n) {
    if (n == 0) throw ValueError("uniform_index: argument n must be positive, got 0");
    const std::uint64_t range = n;
    // Draws at or above `limit` would make the low residues more likely: reject them.
    const std::uint64_t limit = Rng::max() - Rng::max() % range;
    std::uint64_t draw = rng();
    while (draw >= limit) draw = rng();
    return static_cast<std::size_t>(draw % range);
}

double standard_normal(Rng& rng) {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const double u1 = 1.0 - uniform01(rng);
    const double u2 = uniform01(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::vector<std::size_t> permutation(std::size_t n, Rng& rng) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) {
        std::swap(order[i - 1], order[uniform_index(rng, i)]);
    }
    return order;
}

}  // namespace xtape
