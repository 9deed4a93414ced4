// Minibatch iteration: one shuffled pass over the samples, cut into batches.
#include "xtape/data/batches.hpp"

#include <algorithm>

#include "xtape/errors.hpp"

namespace xtape {

std::vector<std::vector<std::size_t>> shuffled_batches(std::size_t n, std::size_t batch_size, Rng& rng) {
    if (batch_size == 0) throw ValueError("shuffled_batches: argument batch_size must be positive, got 0");
    const std::vector<std::size_t> order = permutation(n, rng);
    std::vector<std::vector<std::size_t>> batches;
    batches.reserve((n + batch_size - 1) / batch_size);
    for (std::size_t start = 0; start < n; start += batch_size) {
        const std::size_t stop = std::min(n, start + batch_size);
        batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                             order.begin() + static_cast<std::ptrdiff_t>(stop));
    }
    return batches;
}

}  // namespace xtape
