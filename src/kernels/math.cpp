// Runs each kernel of math.hpp in the widest instruction set that this CPU has
// and the kernels were compiled for.
#include "math.hpp"

#include "arch_dispatch.hpp"
#include "math_arch.hpp"
#include "xtape/instruction_set.hpp"

namespace xtape::kernels::math {

using kernels::on_best_arch;

template <class T>
void log_softmax_rows(const T* x, T* out, std::size_t rows, std::size_t n) {
    on_best_arch([&](auto arch) { ArchMath<decltype(arch), T>::log_softmax_rows(x, out, rows, n); });
}

template <class T>
void log_softmax_grad_rows(const T* g, const T* out, T* dx, std::size_t rows, std::size_t n) {
    on_best_arch([&](auto arch) { ArchMath<decltype(arch), T>::log_softmax_grad_rows(g, out, dx, rows, n); });
}

template <class T>
void softmax_rows(const T* x, T* y, std::size_t rows, std::size_t n) {
    on_best_arch([&](auto arch) { ArchMath<decltype(arch), T>::softmax_rows(x, y, rows, n); });
}

template <class T>
void softmax_grad_rows(const T* g, const T* y, T* dx, std::size_t rows, std::size_t n) {
    on_best_arch([&](auto arch) { ArchMath<decltype(arch), T>::softmax_grad_rows(g, y, dx, rows, n); });
}

template <class T>
void shifted_sum_exp_rows(const T* x, std::size_t rows, std::size_t n, T* shift, T* total, T* softmax) {
    on_best_arch(
        [&](auto arch) { ArchMath<decltype(arch), T>::shifted_sum_exp_rows(x, rows, n, shift, total, softmax); });
}

template <class T>
void scaled_exp_rows(const T* x, const T* shift, const T* scale, std::size_t rows, std::size_t n, T* out) {
    on_best_arch([&](auto arch) { ArchMath<decltype(arch), T>::scaled_exp_rows(x, shift, scale, rows, n, out); });
}

#define XTAPE_INSTANTIATE(T)                                                                        \
    template void log_softmax_rows(const T*, T*, std::size_t, std::size_t);                         \
    template void log_softmax_grad_rows(const T*, const T*, T*, std::size_t, std::size_t);          \
    template void softmax_rows(const T*, T*, std::size_t, std::size_t);                             \
    template void softmax_grad_rows(const T*, const T*, T*, std::size_t, std::size_t);              \
    template void shifted_sum_exp_rows(const T*, std::size_t, std::size_t, T*, T*, T*);             \
    template void scaled_exp_rows(const T*, const T*, const T*, std::size_t, std::size_t, T*);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape::kernels::math

const char* xtape::kernel_instruction_set() {
    const char* name = nullptr;
    kernels::on_best_arch([&](auto arch) { name = decltype(arch)::name(); });
    return name;
}
