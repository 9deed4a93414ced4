// The elementwise primitives, each written once: its value, and its derivative
// as an expression of the incoming gradient g, the operands a (and b) and the
// result y. What the derivative reads follows from that expression (a Probe
// runs it at compile time). The eager ops and the fused tile kernels of every
// instruction set instantiate these on SIMD batches; a differentiable
// (create_graph) backward instantiates the derivative on Vars, and a fused
// program's backward on its own values, so every order of derivative and
// every path computes from the same formula.
#pragma once

#include <cstdint>
#include <numbers>
#include <utility>

#include "generic.hpp"

namespace xtape::rules {

/// The scalar parameters of a primitive (a scalar operand, rho, clip's
/// bounds), as doubles; the ones a primitive does not have are 0.
struct Scalars {
    double first = 0;
    double second = 0;
    friend constexpr bool operator==(const Scalars&, const Scalars&) = default;
};

// A rule R has:
//   name              the op's name on the tape and in messages;
//   arity             1 or 2 operands;
//   value(a[, b], s)  the primitive;
//   derivative(which, g, a, b, y, s)
//                     g times the partial derivative of the result y with
//                     respect to operand `which` (b is unused by unary rules);
// and may have:
//   piecewise_constant = true
//                     its derivative is 0 wherever it exists (a mask of
//                     another rule's derivative): it is recorded as a constant;
//   value_and_slope(a, s)
//                     the value with the derivative at g = 1, sharing their work
//                     (a fused pass that needs both computes them together).
// The rules below are listed in XTAPE_ELEMENTWISE_RULES at the end.

#define XTAPE_RULE_HEAD(NAME, ARITY)              \
    static constexpr const char* name = NAME;     \
    static constexpr int arity = ARITY;

// ---- two operands ---------------------------------------------------------------

struct Add {
    XTAPE_RULE_HEAD("add", 2)
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return a + b; }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X&, Scalars) { return g; }
};

struct Sub {
    XTAPE_RULE_HEAD("sub", 2)
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return a - b; }
    template <class X>
    static constexpr X derivative(int which, const X& g, const X&, const X&, const X&, Scalars) {
        return which == 0 ? g : -g;
    }
};

struct Mul {
    XTAPE_RULE_HEAD("mul", 2)
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return a * b; }
    template <class X>
    static constexpr X derivative(int which, const X& g, const X& a, const X& b, const X&, Scalars) {
        return which == 0 ? g * b : g * a;
    }
};

/// a / b (IEEE: b = 0 gives inf or NaN).
struct Div {
    XTAPE_RULE_HEAD("div", 2)
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return a / b; }
    // d(a/b)/db = -a/b^2 = -y/b
    template <class X>
    static constexpr X derivative(int which, const X& g, const X&, const X& b, const X& y, Scalars) {
        return which == 0 ? g / b : -g * y / b;
    }
};

/// max(a, b) as xt::maximum picks (b when a is NaN); the gradient goes to a
/// where a >= b, so a wins ties.
struct Maximum {
    XTAPE_RULE_HEAD("maximum", 2)
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return choose(a > b, a, b); }
    template <class X>
    static constexpr X derivative(int which, const X& g, const X& a, const X& b, const X&, Scalars) {
        return which == 0 ? g * ge(a, b) : g * (constant<X>(1) - ge(a, b));
    }
};

/// min(a, b); the gradient goes to a where a <= b.
struct Minimum {
    XTAPE_RULE_HEAD("minimum", 2)
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return choose(a < b, a, b); }
    template <class X>
    static constexpr X derivative(int which, const X& g, const X& a, const X& b, const X&, Scalars) {
        return which == 0 ? g * le(a, b) : g * (constant<X>(1) - le(a, b));
    }
};

/// a^b; the exponent's derivative y log(a) is NaN where a <= 0.
struct Pow {
    XTAPE_RULE_HEAD("pow", 2)
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return pow(a, b); }
    template <class X>
    static constexpr X derivative(int which, const X& g, const X& a, const X& b, const X& y, Scalars) {
        return which == 0 ? g * (b * pow(a, b - constant<X>(1))) : g * (y * log(a));
    }
};

/// 1 where a >= b, else 0 (NaN included): the mask of maximum's derivative.
struct Ge {
    XTAPE_RULE_HEAD("ge", 2)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return ge(a, b); }
};

/// 1 where a <= b, else 0 (NaN included): the mask of minimum's derivative.
struct Le {
    XTAPE_RULE_HEAD("le", 2)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, const X& b, Scalars) { return le(a, b); }
};

// ---- an operand and a scalar s (Scalars::first) -----------------------------------

struct AddScalar {
    XTAPE_RULE_HEAD("add_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return a + constant<X>(s.first); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X&, Scalars) { return g; }
};

struct MulScalar {
    XTAPE_RULE_HEAD("mul_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return a * constant<X>(s.first); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X&, Scalars s) {
        return g * constant<X>(s.first);
    }
};

/// a / s
struct DivScalar {
    XTAPE_RULE_HEAD("div_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return a / constant<X>(s.first); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X&, Scalars s) {
        return g / constant<X>(s.first);
    }
};

/// s - a
struct RsubScalar {
    XTAPE_RULE_HEAD("rsub_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return constant<X>(s.first) - a; }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X&, Scalars) { return -g; }
};

/// s / a; d(s/a)/da = -s/a^2 = -y/a
struct RdivScalar {
    XTAPE_RULE_HEAD("rdiv_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return constant<X>(s.first) / a; }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X& y, Scalars) {
        return -g * y / a;
    }
};

/// max(a, s); a wins ties.
struct MaximumScalar {
    XTAPE_RULE_HEAD("maximum_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) {
        const X bound(constant<X>(s.first));
        return choose(a > bound, a, bound);
    }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * ge(a, s.first);
    }
};

/// min(a, s); a wins ties.
struct MinimumScalar {
    XTAPE_RULE_HEAD("minimum_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) {
        const X bound(constant<X>(s.first));
        return choose(a < bound, a, bound);
    }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * le(a, s.first);
    }
};

/// a^p; d/da = p a^(p-1)
struct PowScalar {
    XTAPE_RULE_HEAD("pow_scalar", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return pow(a, s.first); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * (constant<X>(s.first) * pow(a, s.first - 1));
    }
};

/// 1 where a >= s, else 0.
struct GeScalar {
    XTAPE_RULE_HEAD("ge_scalar", 1)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return ge(a, s.first); }
};

/// 1 where a <= s, else 0.
struct LeScalar {
    XTAPE_RULE_HEAD("le_scalar", 1)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return le(a, s.first); }
};

// ---- one operand ---------------------------------------------------------------------

struct Neg {
    XTAPE_RULE_HEAD("neg", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return -a; }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X&, Scalars) { return -g; }
};

/// exp(a), finite up to exp's true overflow point.
struct Exp {
    XTAPE_RULE_HEAD("exp", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return exp(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X& y, Scalars) { return g * y; }
};

struct Log {
    XTAPE_RULE_HEAD("log", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return log(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) { return g / a; }
};

/// log(1 + a), accurate near 0.
struct Log1p {
    XTAPE_RULE_HEAD("log1p", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return log1p(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return g / (a + constant<X>(1));
    }
};

struct Sqrt {
    XTAPE_RULE_HEAD("sqrt", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return sqrt(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X& y, Scalars) {
        return g / (constant<X>(2) * y);
    }
};

struct Square {
    XTAPE_RULE_HEAD("square", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return a * a; }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return g * (constant<X>(2) * a);
    }
};

/// |a|; its derivative sign(a) is 0 at the kink (rule 6) and for NaN.
struct Abs {
    XTAPE_RULE_HEAD("abs", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return abs(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) { return g * sign(a); }
};

/// 1, -1 or 0 (NaN included); no gradient.
struct Sign {
    XTAPE_RULE_HEAD("sign", 1)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, Scalars) { return sign(a); }
};

/// max(a, 0), NaN kept; its derivative is 0 at the kink.
struct Relu {
    XTAPE_RULE_HEAD("relu", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return choose(a < X(0), X(0), a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) { return g * step(a); }
};

/// 1 where a > 0, else 0: the mask of relu's derivative.
struct Step {
    XTAPE_RULE_HEAD("step", 1)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, Scalars) { return step(a); }
};

/// 1 / (1 + exp(-a)), without overflow for any a.
struct Sigmoid {
    XTAPE_RULE_HEAD("sigmoid", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return sigmoid(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X& y, Scalars) {
        return g * (y * (constant<X>(1) - y));
    }
};

struct Tanh {
    XTAPE_RULE_HEAD("tanh", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return tanh(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X&, const X&, const X& y, Scalars) {
        // 1 - y^2 as (1 - y)(1 + y): near |y| = 1 one factor is exact (Sterbenz),
        // where 1 - y * y would cancel y^2's rounding into a large relative error
        // unless the compiler happens to contract it into an FMA (GCC does at -O2,
        // not at -O1).
        return g * ((constant<X>(1) - y) * (constant<X>(1) + y));
    }
};

/// log(1 + exp(a)), without overflow for any a; its derivative is sigmoid(a)
/// exactly (0.5 at 0), which shares softplus' exp.
struct Softplus {
    XTAPE_RULE_HEAD("softplus", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return softplus(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return g * sigmoid(a);
    }
    template <class T, class A>
    [[gnu::always_inline]] static std::pair<xsimd::batch<T, A>, xsimd::batch<T, A>> value_and_slope(
        const xsimd::batch<T, A>& a, Scalars) {
        const xsimd::batch<T, A> tail = kernels::math::exp_minus_abs(a);
        return {kernels::math::softplus_from_tail(a, tail), kernels::math::sigmoid_from_tail(a, tail)};
    }
};

/// The Huber function of threshold rho = s.first (MXNet's smooth_l1 with
/// sigma^2 = 1/rho): a^2/(2 rho) where |a| <= rho, |a| - rho/2 beyond; a NaN
/// takes the quadratic piece. d/da = clip(a/rho, -1, 1), written with a
/// product, as Gluon's autograd forms it.
struct SmoothL1 {
    XTAPE_RULE_HEAD("smooth_l1", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) {
        const X size = abs(a);
        return choose(size > X(constant<X>(s.first)), size - constant<X>(0.5 * s.first),
                      constant<X>(0.5 / s.first) * a * a);
    }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * clip(a * constant<X>(1 / s.first), -1, 1);
    }
};

/// min(max(a, lo), hi) for lo = s.first, hi = s.second; NaN stays NaN. The
/// gradient passes where lo <= a <= hi, bounds included.
struct Clip {
    XTAPE_RULE_HEAD("clip", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return clip(a, s.first, s.second); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * inside(a, s.first, s.second);
    }
};

/// 1 where s.first <= a <= s.second, else 0: the mask of clip's derivative.
struct Inside {
    XTAPE_RULE_HEAD("inside", 1)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return inside(a, s.first, s.second); }
};

/// log(sigmoid(a)) = -softplus(-a), without overflow.
struct LogSigmoid {
    XTAPE_RULE_HEAD("log_sigmoid", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return -softplus(-a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return g * sigmoid(-a);
    }
};

struct Sin {
    XTAPE_RULE_HEAD("sin", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return sin(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) { return g * cos(a); }
};

struct Cos {
    XTAPE_RULE_HEAD("cos", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return cos(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return -(g * sin(a));
    }
};

/// The error function; d/da = 2/sqrt(pi) exp(-a^2).
struct Erf {
    XTAPE_RULE_HEAD("erf", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return erf(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return g * (constant<X>(std::numbers::inv_sqrtpi * 2) * exp(-(a * a)));
    }
};

/// The standard normal distribution function Phi(a) = (1 + erf(a/sqrt 2))/2;
/// d/da = phi(a) = exp(-a^2/2)/sqrt(2 pi).
struct NormalCdf {
    XTAPE_RULE_HEAD("normal_cdf", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return normal_cdf(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return g * normal_density(a);
    }
    template <class X>
    static constexpr X normal_density(const X& a) {
        return constant<X>(std::numbers::inv_sqrtpi / std::numbers::sqrt2) * exp(constant<X>(-0.5) * (a * a));
    }
};

/// The exact GELU, a Phi(a); d/da = Phi(a) + a phi(a).
struct Gelu {
    XTAPE_RULE_HEAD("gelu", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars) { return a * normal_cdf(a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars) {
        return g * (normal_cdf(a) + a * NormalCdf::normal_density(a));
    }
};

/// a where a > 0, else slope a (slope = s.first).
struct LeakyRelu {
    XTAPE_RULE_HEAD("leaky_relu", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return choose(a > X(0), a, constant<X>(s.first) * a); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * leaky_slope(a, s.first);
    }
};

/// 1 where a > 0, else slope: the mask of leaky_relu's derivative.
struct LeakySlope {
    XTAPE_RULE_HEAD("leaky_slope", 1)
    static constexpr bool piecewise_constant = true;
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return leaky_slope(a, s.first); }
};

/// a where a > 0, else alpha (exp(a) - 1) (alpha = s.first).
struct Elu {
    XTAPE_RULE_HEAD("elu", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) {
        return choose(a > X(0), a, constant<X>(s.first) * expm1(a));
    }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * elu_slope(a, s.first);
    }
};

/// 1 where a > 0, else alpha exp(a): elu's derivative; its own derivative is
/// itself minus the step at 0 (0 for a > 0, alpha exp(a) below).
struct EluSlope {
    XTAPE_RULE_HEAD("elu_slope", 1)
    template <class X>
    static constexpr X value(const X& a, Scalars s) { return elu_slope(a, s.first); }
    template <class X>
    static constexpr X derivative(int, const X& g, const X& a, const X&, const X&, Scalars s) {
        return g * (elu_slope(a, s.first) - step(a));
    }
};

#undef XTAPE_RULE_HEAD

/// Every elementwise rule, as X(Rule, enumerator): the one list from which the
/// op codes of fused programs and the kernels' dispatch are made.
#define XTAPE_ELEMENTWISE_RULES(X)                                                                     \
    X(Add, add) X(Sub, sub) X(Mul, mul) X(Div, div) X(Maximum, maximum) X(Minimum, minimum) X(Pow, pow) \
    X(Ge, ge) X(Le, le) X(AddScalar, add_scalar) X(MulScalar, mul_scalar) X(DivScalar, div_scalar)       \
    X(RsubScalar, rsub_scalar) X(RdivScalar, rdiv_scalar) X(MaximumScalar, maximum_scalar)               \
    X(MinimumScalar, minimum_scalar) X(PowScalar, pow_scalar) X(GeScalar, ge_scalar)                     \
    X(LeScalar, le_scalar) X(Neg, neg) X(Exp, exp) X(Log, log) X(Log1p, log1p) X(Sqrt, sqrt)             \
    X(Square, square) X(Abs, abs) X(Sign, sign) X(Relu, relu) X(Step, step) X(Sigmoid, sigmoid)          \
    X(Tanh, tanh) X(Softplus, softplus) X(SmoothL1, smooth_l1) X(Clip, clip) X(Inside, inside)           \
    X(LogSigmoid, log_sigmoid) X(Sin, sin) X(Cos, cos) X(Erf, erf) X(NormalCdf, normal_cdf) X(Gelu, gelu)                         \
    X(LeakyRelu, leaky_relu) X(LeakySlope, leaky_slope) X(Elu, elu) X(EluSlope, elu_slope)

/// The op code of each rule.
enum class Op : std::uint8_t {
#define XTAPE_ENUMERATOR(Rule, op) op,
    XTAPE_ELEMENTWISE_RULES(XTAPE_ENUMERATOR)
#undef XTAPE_ENUMERATOR
};

/// Calls visit.template operator()<R>() with the rule R of `op`, and returns its result.
template <class Visit>
constexpr decltype(auto) visit_rule(Op op, Visit&& visit) {
    switch (op) {
#define XTAPE_CASE(Rule, op) \
    case Op::op: return visit.template operator()<Rule>();
        XTAPE_ELEMENTWISE_RULES(XTAPE_CASE)
#undef XTAPE_CASE
    }
    return visit.template operator()<Add>();  // not reached: every op has a case
}

template <class R>
concept PiecewiseConstant = requires { requires R::piecewise_constant; };

template <class R>
concept HasSlope = requires(xsimd::batch<float> a) { R::value_and_slope(a, Scalars{}); };

/// The derivative of R with respect to operand `which`, run on probes.
template <class R>
constexpr Probe probe_derivative(int which) {
    return R::derivative(which, Probe{reads_gradient, true}, Probe{reads_a}, Probe{reads_b}, Probe{reads_result},
                         Scalars{1, 2});
}

/// What one op is, for planning fused programs and reading them.
struct OpTraits {
    const char* name;
    int arity;
    bool piecewise_constant;  // no gradient flows through it
    bool has_slope;           // value_and_slope exists
    unsigned reads[2];        // what the derivative for operand 0 and 1 reads (Reads bits)
    bool passes_gradient[2];  // whether that derivative is the incoming gradient itself
};

template <class R>
constexpr OpTraits traits_of() {
    OpTraits t{R::name, R::arity, PiecewiseConstant<R>, HasSlope<R>, {0, 0}, {false, false}};
    if constexpr (!PiecewiseConstant<R>) {
        for (int which = 0; which < R::arity; ++which) {
            const Probe d = probe_derivative<R>(which);
            t.reads[which] = d.reads;
            t.passes_gradient[which] = d.is_gradient;
        }
    }
    return t;
}

/// The traits of every op, by op code.
inline constexpr OpTraits op_traits[] = {
#define XTAPE_TRAITS(Rule, op) traits_of<Rule>(),
    XTAPE_ELEMENTWISE_RULES(XTAPE_TRAITS)
#undef XTAPE_TRAITS
};

/// The traits of `op`.
constexpr const OpTraits& traits(Op op) { return op_traits[static_cast<std::size_t>(op)]; }

/// The op code of rule R.
template <class R>
inline constexpr Op op_of = Op::add;
#define XTAPE_OP_OF(Rule, op) \
    template <>               \
    inline constexpr Op op_of<Rule> = Op::op;
XTAPE_ELEMENTWISE_RULES(XTAPE_OP_OF)
#undef XTAPE_OP_OF

}  // namespace xtape::rules
