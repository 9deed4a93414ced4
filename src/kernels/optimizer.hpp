// The optimizers' parameter updates, each one pass over a parameter's arrays,
// in the widest instruction set this CPU runs (see optimizer_arch.hpp); a large
// parameter's pass is split between xtape's threads (parallel.hpp).
#pragma once

#include <cstddef>

#include "optimizer_arch.hpp"

namespace xtape::kernels::optimizer {

/// SGD with momentum and weight decay on n elements; g may be null (a zero
/// gradient), velocity is null when step.momentum is 0.
template <class T>
void sgd(const SgdStep<T>& step, std::size_t n, T* w, const T* g, T* velocity);

/// Adam (or AdamW) on n elements; g may be null (a zero gradient).
template <class T>
void adam(const AdamStep<T>& step, std::size_t n, T* w, const T* g, T* m, T* v);

}  // namespace xtape::kernels::optimizer
