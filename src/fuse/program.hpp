// The program of an elementwise expression: primitives (the rules of
// rules/elementwise.hpp) over numbered slots.
#pragma once

#include <cstdint>
#include <vector>

#include "xtape/fuse.hpp"

#include "../rules/elementwise.hpp"

namespace xtape::detail {

using ElementwiseOp = rules::Op;

/// One primitive: its result = op(slot a[, slot b], scalars).
struct ElementwiseInstruction {
    ElementwiseOp op;
    std::uint32_t a = 0;
    std::uint32_t b = 0;  // the second slot of a binary op
    rules::Scalars scalars = {};
};

/// True for the ops that take two slots.
inline bool is_binary(ElementwiseOp op) { return rules::traits(op).arity == 2; }

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
    /// (`b` for the binary ops only); throws ValueError naming the op when the
    /// operands belong to different programs.
    static ElementwiseExpr append(ElementwiseInstruction instruction, const ElementwiseExpr& a,
                                  const ElementwiseExpr* b = nullptr);
};

}  // namespace xtape::detail
