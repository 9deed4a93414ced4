// The optimizers' parameter updates for one instruction set A:
// optimizer_for_arch.cpp defines them, compiled once per instruction set;
// optimizer.cpp calls the one the CPU runs.
#pragma once

#include <cstddef>

namespace xtape::kernels::optimizer {

/// The scalars of one SGD update (PyTorch's formulas, dampening 0):
/// d = g + weight_decay w;  v = momentum v + d;  w = w - rate v
/// (w = w - rate d without momentum).
template <class T>
struct SgdStep {
    T rate;
    T momentum;
    T weight_decay;
};

/// The scalars of one Adam or AdamW update at step t (PyTorch's formulas):
/// d = g + l2 w;  w = keep w;  m = m + (1 - beta1) (d - m);
/// v = beta2 v + (1 - beta2) d^2;  w = w - step_size m / (sqrt(v) / root_correction2 + epsilon).
template <class T>
struct AdamStep {
    T one_minus_beta1;
    T beta2;
    T one_minus_beta2;
    T step_size;         ///< learning_rate / (1 - beta1^t)
    T root_correction2;  ///< sqrt(1 - beta2^t)
    T epsilon;
    T l2;    ///< Adam's weight_decay (0 for AdamW)
    T keep;  ///< AdamW's 1 - learning_rate * weight_decay (1 for Adam)
};

/// Each update is one pass over the parameter's arrays. A null gradient is a
/// zero one; velocity is null when momentum is 0.
template <class A, class T>
struct ArchOptimizer {
    static void sgd(const SgdStep<T>& step, std::size_t n, T* w, const T* g, T* velocity);
    static void adam(const AdamStep<T>& step, std::size_t n, T* w, const T* g, T* m, T* v);
};

}  // namespace xtape::kernels::optimizer
