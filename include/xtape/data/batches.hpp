// Minibatch iteration: one shuffled pass over the samples, cut into batches.
#pragma once

#include <cstddef>
#include <vector>

#include "xtape/data/random.hpp"

namespace xtape {

/// The row indices of one epoch: a fresh random permutation of 0..n-1 drawn from
/// `rng`, cut into consecutive batches of `batch_size` (the last one holds the
/// remainder). Every index appears exactly once. Throws ValueError when
/// batch_size is 0.
std::vector<std::vector<std::size_t>> shuffled_batches(std::size_t n, std::size_t batch_size, Rng& rng);

}  // namespace xtape
