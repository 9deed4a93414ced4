// Runs each optimizer update in the widest instruction set that this CPU has
// and the kernels were compiled for.
#include "optimizer.hpp"

#include <algorithm>

#include "arch_dispatch.hpp"
#include "parallel.hpp"

namespace xtape::kernels::optimizer {

namespace {

// Elements per piece of a parameter that the threads share out: a multiple of
// every batch width, so that a piece's tail is the parameter's tail.
constexpr std::size_t piece = 64;

// update(arch, first, count) for pieces [first, first + count) of n elements,
// split between threads (parallel.hpp); every element is updated alone, so the
// bits do not depend on the split.
template <class Update>
void on_ranges(std::size_t n, Update update) {
    parallel_for((n + piece - 1) / piece, piece, [&](std::size_t begin, std::size_t end) {
        const std::size_t first = begin * piece;
        on_best_arch([&](auto arch) { update(arch, first, std::min(end * piece, n) - first); });
    });
}

// p + by, or null for a null p.
template <class P>
P offset(P p, std::size_t by) {
    return p == nullptr ? nullptr : p + by;
}

}  // namespace

template <class T>
void sgd(const SgdStep<T>& step, std::size_t n, T* w, const T* g, T* velocity) {
    on_ranges(n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchOptimizer<decltype(arch), T>::sgd(step, count, w + first, offset(g, first), offset(velocity, first));
    });
}

template <class T>
void adam(const AdamStep<T>& step, std::size_t n, T* w, const T* g, T* m, T* v) {
    on_ranges(n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchOptimizer<decltype(arch), T>::adam(step, count, w + first, offset(g, first), m + first, v + first);
    });
}

template void sgd(const SgdStep<float>&, std::size_t, float*, const float*, float*);
template void sgd(const SgdStep<double>&, std::size_t, double*, const double*, double*);
template void adam(const AdamStep<float>&, std::size_t, float*, const float*, float*, float*);
template void adam(const AdamStep<double>&, std::size_t, double*, const double*, double*, double*);

}  // namespace xtape::kernels::optimizer
