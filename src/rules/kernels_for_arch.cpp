// The elementwise kernels over xsimd batches of instruction set
// XTAPE_KERNEL_ARCH, each rule's value and derivative instantiated on batches;
// meson compiles this file once per instruction set, each time with that
// set's -m flags (as kernels/math_for_arch.cpp).
#include "kernels.hpp"

#include <stdexcept>

#include "../kernels/simd_loop.hpp"
#include "../kernels/streaming_store.hpp"

#ifndef XTAPE_KERNEL_ARCH
#error "XTAPE_KERNEL_ARCH names the xsimd instruction set to compile for (meson sets it)"
#endif

namespace xtape::rules {

namespace {
using Arch = XTAPE_KERNEL_ARCH;
}  // namespace

template <class A, class T>
void ArchKernels<A, T>::apply(Op op, Scalars s, std::size_t n, const T* a, const T* b, T* out) {
    using B = kernels::Batch<T, A>;
    visit_rule(op, [&]<class R>() {
        if constexpr (R::arity == 1) {
            kernels::map<T, A>(n, out, [s](B x) { return R::value(x, s); }, a);
        } else {
            kernels::map<T, A>(n, out, [s](B x, B y) { return R::value(x, y, s); }, a, b);
        }
    });
}

namespace {

// out = g times R's derivative for operand W (+ addend). The operands it does
// not read are given as g: their loads are dead once the rule is inlined.
template <class R, int W, class A, class T>
void derivative_of(std::size_t n, const T* g, const T* a, const T* b, const T* y, const T* addend, T* out,
                   Scalars s) {
    using B = kernels::Batch<T, A>;
    const T* a_or_g = a ? a : g;
    const T* b_or_g = b ? b : g;
    const T* y_or_g = y ? y : g;
    const auto d = [s](B dy, B x, B x2, B result) { return R::derivative(W, dy, x, x2, result, s); };
    if (addend == nullptr) return kernels::map<T, A>(n, out, d, g, a_or_g, b_or_g, y_or_g);
    kernels::map<T, A>(
        n, out, [d](B sum, B dy, B x, B x2, B result) { return sum + d(dy, x, x2, result); }, addend, g, a_or_g,
        b_or_g, y_or_g);
}

}  // namespace

template <class A, class T>
void ArchKernels<A, T>::derivative(Op op, Scalars s, int which, std::size_t n, const T* g, const T* a, const T* b,
                                   const T* y, const T* addend, T* out) {
    visit_rule(op, [&]<class R>() {
        if constexpr (PiecewiseConstant<R>) {
            throw std::logic_error("tile kernels: the derivative of a piecewise-constant op");
        } else if constexpr (R::arity == 1) {
            derivative_of<R, 0, A>(n, g, a, b, y, addend, out, s);
        } else if (which == 0) {
            derivative_of<R, 0, A>(n, g, a, b, y, addend, out, s);
        } else {
            derivative_of<R, 1, A>(n, g, a, b, y, addend, out, s);
        }
    });
}

template <class A, class T>
void ArchKernels<A, T>::apply_with_slope(Op op, Scalars s, std::size_t n, const T* a, T* out, T* slope) {
    using B = kernels::Batch<T, A>;
    visit_rule(op, [&]<class R>() {
        if constexpr (HasSlope<R>) {
            kernels::map_pair<T, A>(n, out, slope, [s](B x) { return R::value_and_slope(x, s); }, a);
        } else {
            throw std::logic_error("tile kernels: apply_with_slope of an op without a slope");
        }
    });
}

template <class A, class T>
void ArchKernels<A, T>::times_slope(std::size_t n, const T* g, const T* slope, const T* addend, T* out) {
    using B = kernels::Batch<T, A>;
    if (addend == nullptr) return kernels::map<T, A>(n, out, [](B dy, B dy_da) { return dy * dy_da; }, g, slope);
    kernels::map<T, A>(n, out, [](B sum, B dy, B dy_da) { return sum + dy * dy_da; }, addend, g, slope);
}

template <class A, class T>
void ArchKernels<A, T>::stream(std::size_t n, const T* from, T* to) {
    kernels::arch_stream_copy<A, T>(n, from, to);
}

template struct ArchKernels<Arch, float>;
template struct ArchKernels<Arch, double>;

}  // namespace xtape::rules
