// Runs each optimizer update in the widest instruction set that this CPU has
// and the kernels were compiled for.
#include "optimizer.hpp"

#include "arch_dispatch.hpp"

namespace xtape::kernels::optimizer {

template <class T>
void sgd(const SgdStep<T>& step, std::size_t n, T* w, const T* g, T* velocity) {
    on_best_arch([&](auto arch) { ArchOptimizer<decltype(arch), T>::sgd(step, n, w, g, velocity); });
}

template <class T>
void adam(const AdamStep<T>& step, std::size_t n, T* w, const T* g, T* m, T* v) {
    on_best_arch([&](auto arch) { ArchOptimizer<decltype(arch), T>::adam(step, n, w, g, m, v); });
}

template void sgd(const SgdStep<float>&, std::size_t, float*, const float*, float*);
template void sgd(const SgdStep<double>&, std::size_t, double*, const double*, double*);
template void adam(const AdamStep<float>&, std::size_t, float*, const float*, float*, float*);
template void adam(const AdamStep<double>&, std::size_t, double*, const double*, double*, double*);

}  // namespace xtape::kernels::optimizer
