// Runs each kernel of math.hpp in the widest instruction set that this CPU has
// and the kernels were compiled for.
#include "math.hpp"

#include "arch_dispatch.hpp"
#include "math_arch.hpp"
#include "parallel.hpp"
#include "xtape/instruction_set.hpp"

namespace xtape::kernels::math {

using kernels::on_best_arch;

namespace {

// run(arch, first, count) for ranges of rows [first, first + count) of n
// elements, split between threads (parallel.hpp): every row is computed alone,
// so the bits do not depend on the split.
template <class Run>
void on_row_ranges(std::size_t rows, std::size_t n, Run run) {
    parallel_for(rows, n, [&](std::size_t begin, std::size_t end) {
        on_best_arch([&](auto arch) { run(arch, begin, end - begin); });
    });
}

}  // namespace

template <class T>
void log_softmax_rows(const T* x, T* out, std::size_t rows, std::size_t n) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::log_softmax_rows(x + first * n, out + first * n, count, n);
    });
}

template <class T>
void log_softmax_grad_rows(const T* g, const T* out, T* dx, std::size_t rows, std::size_t n) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::log_softmax_grad_rows(g + first * n, out + first * n, dx + first * n, count, n);
    });
}

template <class T>
void log_softmax_grad_backward_rows(const T* u, const T* out, const T* g, std::size_t rows, std::size_t n, T* d_out,
                                    T* dg) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::log_softmax_grad_backward_rows(
            u + first * n, out + first * n, g + first * n, count, n, d_out == nullptr ? nullptr : d_out + first * n,
            dg == nullptr ? nullptr : dg + first * n);
    });
}

template <class T>
void softmax_rows(const T* x, T* y, std::size_t rows, std::size_t n) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::softmax_rows(x + first * n, y + first * n, count, n);
    });
}

template <class T>
void softmax_grad_rows(const T* g, const T* y, T* dx, std::size_t rows, std::size_t n) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::softmax_grad_rows(g + first * n, y + first * n, dx + first * n, count, n);
    });
}

template <class T>
void shifted_sum_exp_rows(const T* x, std::size_t rows, std::size_t n, T* shift, T* total, T* softmax) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::shifted_sum_exp_rows(x + first * n, count, n, shift + first, total + first,
                                                          softmax == nullptr ? nullptr : softmax + first * n);
    });
}

template <class T>
void scaled_exp_rows(const T* x, const T* shift, const T* scale, std::size_t rows, std::size_t n, T* out) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::scaled_exp_rows(x + first * n, shift + first, scale + first, count, n,
                                                     out + first * n);
    });
}

template <class T>
void scaled_softmax_grad_rows(const T* x, const T* shift, const T* total, const T* scale, const T* u,
                              std::size_t rows, std::size_t n, T* dx, T* p_dot_u) {
    on_row_ranges(rows, n, [&](auto arch, std::size_t first, std::size_t count) {
        ArchMath<decltype(arch), T>::scaled_softmax_grad_rows(
            x + first * n, shift + first, total + first, scale + first, u + first * n, count, n,
            dx == nullptr ? nullptr : dx + first * n, p_dot_u == nullptr ? nullptr : p_dot_u + first);
    });
}

#define XTAPE_INSTANTIATE(T)                                                                        \
    template void log_softmax_rows(const T*, T*, std::size_t, std::size_t);                         \
    template void log_softmax_grad_rows(const T*, const T*, T*, std::size_t, std::size_t);          \
    template void log_softmax_grad_backward_rows(const T*, const T*, const T*, std::size_t, std::size_t, T*, \
                                                 T*);                                                   \
    template void softmax_rows(const T*, T*, std::size_t, std::size_t);                             \
    template void softmax_grad_rows(const T*, const T*, T*, std::size_t, std::size_t);              \
    template void shifted_sum_exp_rows(const T*, std::size_t, std::size_t, T*, T*, T*);             \
    template void scaled_exp_rows(const T*, const T*, const T*, std::size_t, std::size_t, T*);             \
    template void scaled_softmax_grad_rows(const T*, const T*, const T*, const T*, const T*, std::size_t, \
                                           std::size_t, T*, T*);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape::kernels::math

const char* xtape::kernel_instruction_set() {
    const char* name = nullptr;
    kernels::on_best_arch([&](auto arch) { name = decltype(arch)::name(); });
    return name;
}
