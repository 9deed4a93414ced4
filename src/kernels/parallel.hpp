// Splitting a loop over independent items between xtape's threads (OpenMP).
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <type_traits>

#include <omp.h>

#include "xtape/threads.hpp"

namespace xtape::kernels {

/// Units of work (about an element read, computed and written) that a thread
/// should get at least, so that starting it costs a few percent at most: a
/// loop of less than two grains stays on the calling thread.
inline constexpr std::size_t parallel_grain = std::size_t(1) << 15;

/// The threads that `items` items of `work` units in all are worth: at most
/// num_threads(), one per grain of work and one per item; 1 inside a parallel
/// region already (a user's, or nested loops of xtape's).
inline std::size_t threads_for(std::size_t items, std::size_t work) {
    if (work < 2 * parallel_grain || items < 2 || omp_in_parallel()) return 1;
    return std::min({static_cast<std::size_t>(num_threads()), items, work / parallel_grain});
}

/// Calls body(begin, end) on disjoint ranges that cover [0, items), each item
/// `work_per_item` units, each range on a thread of its own: contiguous ranges
/// of nearly equal length (OpenMP's static schedule). A body that takes a
/// third argument, body(begin, end, on_calling_thread), learns whether it runs
/// on the calling thread (which may lend it what it holds). The caller's results
/// must not depend on where the ranges are cut (each item written by itself,
/// or sums kept per item and combined afterwards in item order), so that they
/// are the same bits for any thread count. An exception thrown by a body is
/// rethrown here once every range has ended (the first one thrown).
template <class Body>
void parallel_for(std::size_t items, std::size_t work_per_item, Body body) {
    const std::size_t threads = threads_for(items, items * work_per_item);
    const auto run = [&](std::size_t begin, std::size_t end, bool on_calling_thread) {
        if constexpr (std::is_invocable_v<Body&, std::size_t, std::size_t, bool>) {
            body(begin, end, on_calling_thread);
        } else {
            body(begin, end);
        }
    };
    if (threads <= 1) {
        if (items > 0) run(0, items, true);
        return;
    }
    std::exception_ptr failure;
#pragma omp parallel num_threads(static_cast<int>(threads))
    {
        // The team may be smaller than asked for (OMP_THREAD_LIMIT, OMP_DYNAMIC).
        const auto team = static_cast<std::size_t>(omp_get_num_threads());
        const auto rank = static_cast<std::size_t>(omp_get_thread_num());
        const std::size_t begin = items * rank / team;
        const std::size_t end = items * (rank + 1) / team;
        try {
            // The calling thread is the team's thread 0.
            if (begin < end) run(begin, end, rank == 0);
        } catch (...) {
#pragma omp critical(xtape_parallel_for_failure)
            if (!failure) failure = std::current_exception();
        }
    }
    if (failure) std::rethrow_exception(failure);
}

}  // namespace xtape::kernels
