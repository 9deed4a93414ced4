// The program of an elementwise expression: primitives over numbered slots.
#pragma once

#include <cstdint>
#include <vector>

#include "xtape/fuse.hpp"

namespace xtape::detail {

enum class ElementwiseOp : std::uint8_t {
    add, sub, mul,                       // of two slots
    add_scalar, mul_scalar, rsub_scalar, // of a slot and a scalar
    neg, exp, log, softplus, relu, square, abs,
    smooth_l1,                           // of a slot, with rho as its scalar
};

/// One primitive: its result = op(slot a, slot b) or op(slot a, scalar).
struct ElementwiseInstruction {
    ElementwiseOp op;
    std::uint32_t a = 0;
    std::uint32_t b = 0;  // the second slot of add, sub and mul
    double scalar = 0;    // the scalar of the *_scalar ops
};

/// True for the ops that take two slots.
inline bool is_binary(ElementwiseOp op) {
    return op == ElementwiseOp::add || op == ElementwiseOp::sub || op == ElementwiseOp::mul;
}

/// What the derivative of an op reads besides the incoming gradient.
enum class DerivativeReads { nothing, other_operand, operand, result };

inline DerivativeReads derivative_reads(ElementwiseOp op) {
    switch (op) {
        case ElementwiseOp::mul: return DerivativeReads::other_operand;
        case ElementwiseOp::exp: return DerivativeReads::result;
        case ElementwiseOp::log:
        case ElementwiseOp::softplus:
        case ElementwiseOp::relu:
        case ElementwiseOp::square:
        case ElementwiseOp::abs:
        case ElementwiseOp::smooth_l1: return DerivativeReads::operand;
        default: return DerivativeReads::nothing;
    }
}

/// Whether the derivative of `op` with respect to operand `which` passes the
/// incoming gradient on unchanged (d(a + b)/da, d(a - b)/da, d(a + s)/da).
inline bool derivative_is_copy(ElementwiseOp op, int which) {
    return op == ElementwiseOp::add || op == ElementwiseOp::add_scalar || (op == ElementwiseOp::sub && which == 0);
}

/// The ops whose derivative with respect to their operand, the slope, comes
/// cheaply with their value: softplus' slope sigmoid shares its exp. A forward
/// pass followed by the backward computes slope and value together.
inline bool has_slope(ElementwiseOp op) { return op == ElementwiseOp::softplus; }

/// Slots 0 .. inputs-1 hold the inputs; slot inputs + i the result of code[i].
/// Instructions read only earlier slots, so the code is in evaluation order.
struct ElementwiseProgram {
    std::size_t inputs = 0;
    std::vector<ElementwiseInstruction> code;

    std::size_t slots() const { return inputs + code.size(); }
};

/// Makes expression values: the only code that sees their constructor.
struct ElementwiseBuilder {
    /// The inputs of a new program with `count` inputs.
    static std::vector<ElementwiseExpr> inputs(std::size_t count);

    /// The result of `instruction` appended to the program of its operands
    /// (`b` for the binary ops only); throws ValueError naming `op` when the
    /// operands belong to different programs.
    static ElementwiseExpr append(ElementwiseInstruction instruction, const char* op, const ElementwiseExpr& a,
                                  const ElementwiseExpr* b = nullptr);
};

}  // namespace xtape::detail
