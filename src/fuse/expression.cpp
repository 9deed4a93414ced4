// Building elementwise expressions: each primitive appends one instruction.
#include <fmt/format.h>

#include "xtape/errors.hpp"

#include "program.hpp"

namespace xtape {

namespace detail {

std::vector<ElementwiseExpr> ElementwiseBuilder::inputs(std::size_t count) {
    auto program = std::make_shared<ElementwiseProgram>();
    program->inputs = count;
    std::vector<ElementwiseExpr> values;
    values.reserve(count);
    for (std::size_t k = 0; k < count; ++k) values.push_back(ElementwiseExpr(program, static_cast<std::uint32_t>(k)));
    return values;
}

ElementwiseExpr ElementwiseBuilder::append(ElementwiseInstruction instruction, const char* op,
                                           const ElementwiseExpr& a, const ElementwiseExpr* b) {
    if (!a.program() || (b && b->program() != a.program())) {
        throw ValueError(fmt::format("fuse: {} of values from two different expressions", op));
    }
    ElementwiseProgram& program = *a.program();
    instruction.a = a.slot();
    if (b) instruction.b = b->slot();
    program.code.push_back(instruction);
    return ElementwiseExpr(a.program(), static_cast<std::uint32_t>(program.slots() - 1));
}

}  // namespace detail

using detail::ElementwiseBuilder;
using detail::ElementwiseOp;

ElementwiseExpr add(const ElementwiseExpr& a, const ElementwiseExpr& b) {
    return ElementwiseBuilder::append({ElementwiseOp::add}, "add", a, &b);
}
ElementwiseExpr sub(const ElementwiseExpr& a, const ElementwiseExpr& b) {
    return ElementwiseBuilder::append({ElementwiseOp::sub}, "sub", a, &b);
}
ElementwiseExpr mul(const ElementwiseExpr& a, const ElementwiseExpr& b) {
    return ElementwiseBuilder::append({ElementwiseOp::mul}, "mul", a, &b);
}
ElementwiseExpr add(const ElementwiseExpr& a, double s) {
    return ElementwiseBuilder::append({ElementwiseOp::add_scalar, 0, 0, s}, "add", a);
}
ElementwiseExpr mul(const ElementwiseExpr& a, double s) {
    return ElementwiseBuilder::append({ElementwiseOp::mul_scalar, 0, 0, s}, "mul", a);
}
ElementwiseExpr rsub(double s, const ElementwiseExpr& a) {
    return ElementwiseBuilder::append({ElementwiseOp::rsub_scalar, 0, 0, s}, "rsub", a);
}
ElementwiseExpr neg(const ElementwiseExpr& a) { return ElementwiseBuilder::append({ElementwiseOp::neg}, "neg", a); }
ElementwiseExpr exp(const ElementwiseExpr& a) { return ElementwiseBuilder::append({ElementwiseOp::exp}, "exp", a); }
ElementwiseExpr log(const ElementwiseExpr& a) { return ElementwiseBuilder::append({ElementwiseOp::log}, "log", a); }
ElementwiseExpr softplus(const ElementwiseExpr& a) {
    return ElementwiseBuilder::append({ElementwiseOp::softplus}, "softplus", a);
}
ElementwiseExpr relu(const ElementwiseExpr& a) {
    return ElementwiseBuilder::append({ElementwiseOp::relu}, "relu", a);
}
ElementwiseExpr square(const ElementwiseExpr& a) {
    return ElementwiseBuilder::append({ElementwiseOp::square}, "square", a);
}
ElementwiseExpr abs(const ElementwiseExpr& a) { return ElementwiseBuilder::append({ElementwiseOp::abs}, "abs", a); }
ElementwiseExpr smooth_l1(const ElementwiseExpr& a, double rho) {
    if (!(rho > 0)) throw ValueError(fmt::format("smooth_l1: rho must be positive, got {}", rho));
    return ElementwiseBuilder::append({ElementwiseOp::smooth_l1, 0, 0, rho}, "smooth_l1", a);
}

}  // namespace xtape
