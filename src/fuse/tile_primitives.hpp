// Each elementwise primitive of a fused program, and its derivative, over one tile.
#pragma once

#include <cstddef>

#include "../kernels/elementwise_rules.hpp"
#include "../kernels/math.hpp"
#include "../kernels/simd_loop.hpp"
#include "program.hpp"

namespace xtape::detail {

/// out[0:n] = the instruction's primitive of a[0:n] (and b[0:n] or its scalar).
template <class T>
void apply_primitive(const ElementwiseInstruction& instruction, std::size_t n, const T* a, const T* b, T* out) {
    using B = kernels::Batch<T>;
    namespace rules = kernels::rules;
    const B s(static_cast<T>(instruction.scalar));
    switch (instruction.op) {
        case ElementwiseOp::add: return kernels::map(n, out, [](B x, B y) { return x + y; }, a, b);
        case ElementwiseOp::sub: return kernels::map(n, out, [](B x, B y) { return x - y; }, a, b);
        case ElementwiseOp::mul: return kernels::map(n, out, [](B x, B y) { return x * y; }, a, b);
        case ElementwiseOp::add_scalar: return kernels::map(n, out, [s](B x) { return x + s; }, a);
        case ElementwiseOp::mul_scalar: return kernels::map(n, out, [s](B x) { return x * s; }, a);
        case ElementwiseOp::rsub_scalar: return kernels::map(n, out, [s](B x) { return s - x; }, a);
        case ElementwiseOp::neg: return kernels::map(n, out, [](B x) { return -x; }, a);
        case ElementwiseOp::exp: return kernels::math::exp(a, out, n);
        case ElementwiseOp::log: return kernels::math::log(a, out, n);
        case ElementwiseOp::softplus: return kernels::math::softplus(a, out, n);
        case ElementwiseOp::relu: return kernels::map(n, out, rules::relu<B>, a);
        case ElementwiseOp::square: return kernels::map(n, out, rules::square<B>, a);
    }
}

/// What the derivative of an instruction reads besides the incoming gradient.
enum class DerivativeReads { nothing, other_operand, operand, result };

inline DerivativeReads derivative_reads(ElementwiseOp op) {
    switch (op) {
        case ElementwiseOp::mul: return DerivativeReads::other_operand;
        case ElementwiseOp::exp: return DerivativeReads::result;
        case ElementwiseOp::log:
        case ElementwiseOp::softplus:
        case ElementwiseOp::relu:
        case ElementwiseOp::square: return DerivativeReads::operand;
        default: return DerivativeReads::nothing;
    }
}

/// out[0:n] = g times the derivative of the instruction's result y with
/// respect to its operand `which` (0: a, 1: b), given the operands and y.
template <class T>
void apply_derivative(const ElementwiseInstruction& instruction, int which, std::size_t n, const T* g, const T* a,
                      const T* b, const T* y, T* out) {
    using B = kernels::Batch<T>;
    namespace rules = kernels::rules;
    const B s(static_cast<T>(instruction.scalar));
    const auto negate = [](B dy) { return -dy; };
    const auto copy = [](B dy) { return dy; };
    switch (instruction.op) {
        case ElementwiseOp::add:
        case ElementwiseOp::add_scalar: return kernels::map(n, out, copy, g);
        case ElementwiseOp::sub: return which == 0 ? kernels::map(n, out, copy, g) : kernels::map(n, out, negate, g);
        case ElementwiseOp::mul: return kernels::map(n, out, [](B dy, B other) { return dy * other; }, g,
                                                     which == 0 ? b : a);
        case ElementwiseOp::mul_scalar: return kernels::map(n, out, [s](B dy) { return dy * s; }, g);
        case ElementwiseOp::rsub_scalar:
        case ElementwiseOp::neg: return kernels::map(n, out, negate, g);
        case ElementwiseOp::exp: return kernels::map(n, out, rules::exp_grad<B>, g, y);
        case ElementwiseOp::log: return kernels::map(n, out, rules::log_grad<B>, g, a);
        case ElementwiseOp::softplus: return kernels::math::times_sigmoid(g, a, out, n);
        case ElementwiseOp::relu: return kernels::map(n, out, rules::relu_grad<B>, g, a);
        case ElementwiseOp::square: return kernels::map(n, out, rules::square_grad<B>, g, a);
    }
}

}  // namespace xtape::detail
