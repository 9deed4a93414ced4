// Building elementwise expressions: each primitive appends one instruction.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "xtape/errors.hpp"

#include "../rules/kernels.hpp"
#include "program.hpp"

namespace xtape {

namespace detail {

void ElementwiseBuilder::inputs(std::size_t count, std::vector<ElementwiseExpr>& values) {
    thread_local std::shared_ptr<ElementwiseProgram> building;
    if (!building || building.use_count() > 1) building = std::make_shared<ElementwiseProgram>();
    building->inputs = count;
    building->code.clear();  // keeps its capacity
    values.clear();
    for (std::size_t k = 0; k < count; ++k) values.push_back(ElementwiseExpr(building, static_cast<std::uint32_t>(k)));
}

bool same_program(const ElementwiseProgram& x, const ElementwiseProgram& y) {
    const auto same = [](const ElementwiseInstruction& a, const ElementwiseInstruction& b) {
        return a.op == b.op && a.a == b.a && a.b == b.b && std::memcmp(&a.scalars, &b.scalars, sizeof a.scalars) == 0;
    };
    return x.inputs == y.inputs && std::equal(x.code.begin(), x.code.end(), y.code.begin(), y.code.end(), same);
}

std::shared_ptr<const ElementwiseProgram> shared_program(const ElementwiseProgram& built) {
    using Shared = std::shared_ptr<const ElementwiseProgram>;
    thread_local RecentEntries<Shared> known;
    return known.find_or_make([&](const Shared& program) { return same_program(*program, built); },
                              [&] { return std::make_shared<const ElementwiseProgram>(built); });
}

ElementwiseExpr ElementwiseBuilder::append(ElementwiseInstruction instruction, const ElementwiseExpr& a,
                                           const ElementwiseExpr* b) {
    if (!a.program() || (b && b->program() != a.program())) {
        throw ValueError(
            fmt::format("fuse: {} of values from two different expressions", rules::traits(instruction.op).name));
    }
    ElementwiseProgram& program = *a.program();
    instruction.a = a.slot();
    if (b) instruction.b = b->slot();
    program.code.push_back(instruction);
    return ElementwiseExpr(a.program(), static_cast<std::uint32_t>(program.slots() - 1));
}

}  // namespace detail

namespace {

using detail::ElementwiseBuilder;
using rules::Op;

ElementwiseExpr unary(Op op, const ElementwiseExpr& a, rules::Scalars scalars = {}) {
    rules::check_scalars(op, scalars);
    return ElementwiseBuilder::append({op, 0, 0, scalars}, a);
}

ElementwiseExpr binary(Op op, const ElementwiseExpr& a, const ElementwiseExpr& b) {
    return ElementwiseBuilder::append({op}, a, &b);
}

}  // namespace

ElementwiseExpr add(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::add, a, b); }
ElementwiseExpr sub(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::sub, a, b); }
ElementwiseExpr mul(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::mul, a, b); }
ElementwiseExpr div(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::div, a, b); }
ElementwiseExpr maximum(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::maximum, a, b); }
ElementwiseExpr minimum(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::minimum, a, b); }
ElementwiseExpr pow(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::pow, a, b); }
ElementwiseExpr ge(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::ge, a, b); }
ElementwiseExpr le(const ElementwiseExpr& a, const ElementwiseExpr& b) { return binary(Op::le, a, b); }

ElementwiseExpr add(const ElementwiseExpr& a, double s) { return unary(Op::add_scalar, a, {s}); }
ElementwiseExpr mul(const ElementwiseExpr& a, double s) { return unary(Op::mul_scalar, a, {s}); }
ElementwiseExpr div(const ElementwiseExpr& a, double s) { return unary(Op::div_scalar, a, {s}); }
ElementwiseExpr rsub(double s, const ElementwiseExpr& a) { return unary(Op::rsub_scalar, a, {s}); }
ElementwiseExpr rdiv(double s, const ElementwiseExpr& a) { return unary(Op::rdiv_scalar, a, {s}); }
ElementwiseExpr maximum(const ElementwiseExpr& a, double s) { return unary(Op::maximum_scalar, a, {s}); }
ElementwiseExpr minimum(const ElementwiseExpr& a, double s) { return unary(Op::minimum_scalar, a, {s}); }
ElementwiseExpr pow(const ElementwiseExpr& a, double p) { return unary(Op::pow_scalar, a, {p}); }
ElementwiseExpr ge(const ElementwiseExpr& a, double s) { return unary(Op::ge_scalar, a, {s}); }
ElementwiseExpr le(const ElementwiseExpr& a, double s) { return unary(Op::le_scalar, a, {s}); }

ElementwiseExpr neg(const ElementwiseExpr& a) { return unary(Op::neg, a); }
ElementwiseExpr exp(const ElementwiseExpr& a) { return unary(Op::exp, a); }
ElementwiseExpr log(const ElementwiseExpr& a) { return unary(Op::log, a); }
ElementwiseExpr log1p(const ElementwiseExpr& a) { return unary(Op::log1p, a); }
ElementwiseExpr sqrt(const ElementwiseExpr& a) { return unary(Op::sqrt, a); }
ElementwiseExpr square(const ElementwiseExpr& a) { return unary(Op::square, a); }
ElementwiseExpr abs(const ElementwiseExpr& a) { return unary(Op::abs, a); }
ElementwiseExpr sign(const ElementwiseExpr& a) { return unary(Op::sign, a); }
ElementwiseExpr relu(const ElementwiseExpr& a) { return unary(Op::relu, a); }
ElementwiseExpr step(const ElementwiseExpr& a) { return unary(Op::step, a); }
ElementwiseExpr sigmoid(const ElementwiseExpr& a) { return unary(Op::sigmoid, a); }
ElementwiseExpr tanh(const ElementwiseExpr& a) { return unary(Op::tanh, a); }
ElementwiseExpr softplus(const ElementwiseExpr& a) { return unary(Op::softplus, a); }
ElementwiseExpr log_sigmoid(const ElementwiseExpr& a) { return unary(Op::log_sigmoid, a); }
ElementwiseExpr sin(const ElementwiseExpr& a) { return unary(Op::sin, a); }
ElementwiseExpr cos(const ElementwiseExpr& a) { return unary(Op::cos, a); }
ElementwiseExpr erf(const ElementwiseExpr& a) { return unary(Op::erf, a); }
ElementwiseExpr normal_cdf(const ElementwiseExpr& a) { return unary(Op::normal_cdf, a); }
ElementwiseExpr gelu(const ElementwiseExpr& a) { return unary(Op::gelu, a); }
ElementwiseExpr leaky_relu(const ElementwiseExpr& a, double slope) { return unary(Op::leaky_relu, a, {slope}); }
ElementwiseExpr leaky_slope(const ElementwiseExpr& a, double slope) { return unary(Op::leaky_slope, a, {slope}); }
ElementwiseExpr elu(const ElementwiseExpr& a, double alpha) { return unary(Op::elu, a, {alpha}); }
ElementwiseExpr elu_slope(const ElementwiseExpr& a, double alpha) { return unary(Op::elu_slope, a, {alpha}); }
ElementwiseExpr inside(const ElementwiseExpr& a, double lo, double hi) { return unary(Op::inside, a, {lo, hi}); }
ElementwiseExpr smooth_l1(const ElementwiseExpr& a, double rho) { return unary(Op::smooth_l1, a, {rho}); }
ElementwiseExpr clip(const ElementwiseExpr& a, double lo, double hi) { return unary(Op::clip, a, {lo, hi}); }

}  // namespace xtape
