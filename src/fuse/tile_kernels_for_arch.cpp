// The tile kernels of fused programs over xsimd batches of instruction set
// XTAPE_KERNEL_ARCH; meson compiles this file once per instruction set, each
// time with that set's -m flags (as kernels/math_for_arch.cpp).
#include "tile_kernels.hpp"

#include <stdexcept>

#include "../kernels/batch_math.hpp"
#include "../kernels/elementwise_rules.hpp"
#include "../kernels/math_arch.hpp"
#include "../kernels/simd_loop.hpp"
#include "../kernels/streaming_store.hpp"

#ifndef XTAPE_KERNEL_ARCH
#error "XTAPE_KERNEL_ARCH names the xsimd instruction set to compile for (meson sets it)"
#endif

namespace xtape::detail {

namespace {
using Arch = XTAPE_KERNEL_ARCH;
}  // namespace

template <class A, class T>
void ArchTileKernels<A, T>::apply(const ElementwiseInstruction& instruction, std::size_t n, const T* a, const T* b,
                                  T* out) {
    using B = kernels::Batch<T, A>;
    using Math = kernels::math::ArchMath<A, T>;
    namespace rules = kernels::rules;
    const B s(static_cast<T>(instruction.scalar));
    switch (instruction.op) {
        case ElementwiseOp::add: return kernels::map<T, A>(n, out, [](B x, B y) { return x + y; }, a, b);
        case ElementwiseOp::sub: return kernels::map<T, A>(n, out, [](B x, B y) { return x - y; }, a, b);
        case ElementwiseOp::mul: return kernels::map<T, A>(n, out, [](B x, B y) { return x * y; }, a, b);
        case ElementwiseOp::add_scalar: return kernels::map<T, A>(n, out, [s](B x) { return x + s; }, a);
        case ElementwiseOp::mul_scalar: return kernels::map<T, A>(n, out, [s](B x) { return x * s; }, a);
        case ElementwiseOp::rsub_scalar: return kernels::map<T, A>(n, out, [s](B x) { return s - x; }, a);
        case ElementwiseOp::neg: return kernels::map<T, A>(n, out, [](B x) { return -x; }, a);
        case ElementwiseOp::exp: return Math::exp(a, out, n);
        case ElementwiseOp::log: return Math::log(a, out, n);
        case ElementwiseOp::softplus: return Math::softplus(a, out, n);
        case ElementwiseOp::relu: return kernels::map<T, A>(n, out, rules::relu, a);
        case ElementwiseOp::square: return kernels::map<T, A>(n, out, rules::square, a);
        case ElementwiseOp::abs: return kernels::map<T, A>(n, out, rules::abs, a);
        case ElementwiseOp::smooth_l1:
            return kernels::map<T, A>(n, out, rules::SmoothL1<B>(static_cast<T>(instruction.scalar)), a);
    }
}

template <class A, class T>
void ArchTileKernels<A, T>::derivative(const ElementwiseInstruction& instruction, int which, std::size_t n,
                                       const T* g, const T* a, const T* b, const T* y, const T* addend, T* out) {
    using B = kernels::Batch<T, A>;
    namespace rules = kernels::rules;
    // out = f(operands...), or addend + f(operands...): a second contribution
    // to an adjoint is added in the same pass.
    const auto emit = [&](auto f, const auto*... operands) {
        if (addend == nullptr) return kernels::map<T, A>(n, out, f, operands...);
        kernels::map<T, A>(n, out, [f](B sum, auto... v) { return sum + f(v...); }, addend, operands...);
    };
    const B s(static_cast<T>(instruction.scalar));
    const auto negate = [](B dy) { return -dy; };
    const auto copy = [](B dy) { return dy; };
    switch (instruction.op) {
        case ElementwiseOp::add:
        case ElementwiseOp::add_scalar: return emit(copy, g);
        case ElementwiseOp::sub: return which == 0 ? emit(copy, g) : emit(negate, g);
        case ElementwiseOp::mul: return emit([](B dy, B other) { return dy * other; }, g, which == 0 ? b : a);
        case ElementwiseOp::mul_scalar: return emit([s](B dy) { return dy * s; }, g);
        case ElementwiseOp::rsub_scalar:
        case ElementwiseOp::neg: return emit(negate, g);
        case ElementwiseOp::exp: return emit(rules::exp_grad, g, y);
        case ElementwiseOp::log: return emit(rules::log_grad, g, a);
        case ElementwiseOp::softplus:
            return emit([](B dy, B x) { return dy * kernels::math::stable_sigmoid(x); }, g, a);
        case ElementwiseOp::relu: return emit(rules::relu_grad, g, a);
        case ElementwiseOp::square: return emit(rules::square_grad, g, a);
        case ElementwiseOp::abs: return emit(rules::abs_grad, g, a);
        case ElementwiseOp::smooth_l1: return emit(rules::SmoothL1Grad<B>(static_cast<T>(instruction.scalar)), g, a);
    }
}

template <class A, class T>
void ArchTileKernels<A, T>::apply_with_slope(const ElementwiseInstruction& instruction, std::size_t n, const T* a,
                                             T* out, T* slope) {
    if (instruction.op != ElementwiseOp::softplus) throw std::logic_error("apply_with_slope: an op without a slope");
    kernels::math::ArchMath<A, T>::softplus_and_sigmoid(a, out, slope, n);  // softplus: the one op with a slope
}

template <class A, class T>
void ArchTileKernels<A, T>::times_slope(std::size_t n, const T* g, const T* slope, const T* addend, T* out) {
    using B = kernels::Batch<T, A>;
    if (addend == nullptr) return kernels::map<T, A>(n, out, [](B dy, B dy_da) { return dy * dy_da; }, g, slope);
    kernels::map<T, A>(n, out, [](B sum, B dy, B dy_da) { return sum + dy * dy_da; }, addend, g, slope);
}

template <class A, class T>
void ArchTileKernels<A, T>::stream(std::size_t n, const T* from, T* to) {
    kernels::arch_stream_copy<A, T>(n, from, to);
}

template struct ArchTileKernels<Arch, float>;
template struct ArchTileKernels<Arch, double>;

}  // namespace xtape::detail
