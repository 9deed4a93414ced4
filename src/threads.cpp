// The thread count of xtape's parallel loops.
#include "xtape/threads.hpp"

#include <atomic>

#include <fmt/format.h>
#include <omp.h>

#include "xtape/errors.hpp"

namespace xtape {

namespace {

// 0 until set_num_threads: OpenMP's default then.
std::atomic<int> chosen_threads{0};

}  // namespace

int num_threads() {
    const int chosen = chosen_threads.load(std::memory_order_relaxed);
    return chosen > 0 ? chosen : omp_get_max_threads();
}

void set_num_threads(int threads) {
    if (threads < 1) throw ValueError(fmt::format("set_num_threads: threads must be at least 1, got {}", threads));
    chosen_threads.store(threads, std::memory_order_relaxed);
}

}  // namespace xtape
