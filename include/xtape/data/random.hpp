// Seeded random numbers that are the same on every platform and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace xtape {

/// The engine behind every seeded helper of xtape. The C++ standard fixes the
/// output sequence of std::mt19937_64 (unlike that of the std distributions),
/// so the functions below give the same numbers everywhere for the same seed.
using Rng = std::mt19937_64;

/// Uniform in [0, 1): the top 53 bits of one draw, times 2^-53.
double uniform01(Rng& rng);

/// Uniform integer in [0, n), unbiased (rejection sampling). Throws ValueError when n = 0.
std::size_t uniform_index(Rng& rng, std::size_t n);

/// Standard normal N(0, 1) by the Box-Muller transform (two uniforms per draw).
double standard_normal(Rng& rng);

/// A uniformly random permutation of 0..n-1 (Fisher-Yates).
std::vector<std::size_t> permutation(std::size_t n, Rng& rng);

}  // namespace xtape
