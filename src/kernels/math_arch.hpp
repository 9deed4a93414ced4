// The kernels of math.hpp for one instruction set A: math_for_arch.cpp defines
// them, compiled once per instruction set; math.cpp calls the one the CPU runs.
#pragma once

#include <cstddef>

namespace xtape::kernels::math {

template <class A, class T>
struct ArchMath {
    static void log_softmax_rows(const T* x, T* out, std::size_t rows, std::size_t n);
    static void log_softmax_grad_rows(const T* g, const T* out, T* dx, std::size_t rows, std::size_t n);
    static void log_softmax_grad_backward_rows(const T* u, const T* out, const T* g, std::size_t rows,
                                               std::size_t n, T* d_out, T* dg);
    static void softmax_rows(const T* x, T* y, std::size_t rows, std::size_t n);
    static void softmax_grad_rows(const T* g, const T* y, T* dx, std::size_t rows, std::size_t n);
    static void shifted_sum_exp_rows(const T* x, std::size_t rows, std::size_t n, T* shift, T* total, T* softmax);
    static void scaled_exp_rows(const T* x, const T* shift, const T* scale, std::size_t rows, std::size_t n, T* out);
    static void scaled_softmax_grad_rows(const T* x, const T* shift, const T* total, const T* scale, const T* u,
                                         std::size_t rows, std::size_t n, T* dx, T* p_dot_u);
};

}  // namespace xtape::kernels::math
