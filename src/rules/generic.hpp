// The functions elementwise rules are written with, for every kind of value a
// rule is instantiated with: a number, an xsimd batch (the eager ops' and the
// fused tiles' kernels), a Var (a differentiable backward), an ElementwiseExpr
// (a value of a fused program) and a Probe (what a derivative reads, found at
// compile time).
#pragma once

#include <cmath>
#include <numbers>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "../kernels/batch_math.hpp"

namespace xtape::rules {

template <class X>
inline constexpr bool is_batch = false;
template <class T, class A>
inline constexpr bool is_batch<xsimd::batch<T, A>> = true;

/// What a derivative reads, as bits of Probe::reads.
enum Reads : unsigned { reads_gradient = 1, reads_a = 2, reads_b = 4, reads_result = 8 };

/// A stand-in for g, a, b or the result y: the expression a rule builds of
/// probes tells which of them it reads, and whether it is g itself (a
/// derivative that passes the incoming gradient on unchanged).
struct Probe {
    using value_type = double;
    unsigned reads = 0;
    bool is_gradient = false;
};

template <class X>
inline constexpr bool is_probe = std::is_same_v<X, Probe>;

/// A probe of what both operands read.
constexpr Probe joined(Probe x, Probe y) { return {x.reads | y.reads, false}; }
/// A probe of what x reads, no longer the gradient itself.
constexpr Probe touched(Probe x) { return {x.reads, false}; }
constexpr Probe operator+(Probe x, Probe y) { return joined(x, y); }
constexpr Probe operator-(Probe x, Probe y) { return joined(x, y); }
constexpr Probe operator*(Probe x, Probe y) { return joined(x, y); }
constexpr Probe operator/(Probe x, Probe y) { return joined(x, y); }
constexpr Probe operator-(Probe x) { return touched(x); }
constexpr Probe operator+(Probe x, double) { return touched(x); }
constexpr Probe operator+(double, Probe x) { return touched(x); }
constexpr Probe operator-(Probe x, double) { return touched(x); }
constexpr Probe operator-(double, Probe x) { return touched(x); }
constexpr Probe operator*(Probe x, double) { return touched(x); }
constexpr Probe operator*(double, Probe x) { return touched(x); }
constexpr Probe operator/(Probe x, double) { return touched(x); }
constexpr Probe operator/(double, Probe x) { return touched(x); }

/// The scalar type of a value X: X for a number, its element type otherwise
/// (double for a fused program's values and for a probe).
template <class X>
struct ScalarOf {
    using type = typename X::value_type;
};
template <class X>
    requires std::is_arithmetic_v<X>
struct ScalarOf<X> {
    using type = X;
};
template <class X>
using scalar_t = typename ScalarOf<X>::type;

/// The number v in the scalar type of X: how a rule writes its constants.
template <class X>
constexpr scalar_t<X> constant(double v) {
    return static_cast<scalar_t<X>>(v);
}

/// cond ? x : y, lane by lane for batches.
template <class T>
constexpr T choose(bool cond, T x, T y) {
    return cond ? x : y;
}
template <class T, class A>
[[gnu::always_inline]] inline xsimd::batch<T, A> choose(const xsimd::batch_bool<T, A>& cond, const xsimd::batch<T, A>& x,
                                                        const xsimd::batch<T, A>& y) {
    return xsimd::select(cond, x, y);
}

/// f applied to each lane of a batch: for functions xsimd lacks or computes
/// less accurately than libm.
template <class T, class A, class F>
xsimd::batch<T, A> lanewise(const xsimd::batch<T, A>& x, F f) {
    alignas(64) T lanes[xsimd::batch<T, A>::size];
    x.store_aligned(lanes);
    for (T& lane : lanes) lane = f(lane);
    return xsimd::batch<T, A>::load_aligned(lanes);
}

// ---- number and batch forms that std and xsimd do not have ------------------------------

namespace direct {
template <class T>
T sigmoid(T x) {
    const T tail = std::exp(-std::abs(x));
    return (x >= T(0) ? T(1) : tail) / (T(1) + tail);
}
template <class T>
T softplus(T x) {
    return (x < T(0) ? T(0) : x) + std::log1p(std::exp(-std::abs(x)));
}
/// The standard normal distribution function (1 + erf(x/sqrt 2))/2, computed
/// as erfc(-x/sqrt 2)/2 to keep its relative accuracy for negative x. There
/// erfc magnifies the rounding of its argument (by 2 z^2, about 150 at
/// x = -12), so float goes through double, and double adds the first-order
/// term of the argument's rounding error (from an FMA and the constant's own).
template <class T>
T normal_cdf(T x) {
    constexpr double inv_sqrt2 = 1 / std::numbers::sqrt2;
    if constexpr (std::is_same_v<T, float>) {
        return static_cast<float>(std::erfc(-static_cast<double>(x) * inv_sqrt2) / 2);
    } else {
        constexpr long double inv_sqrt2_error = 1 / std::numbers::sqrt2_v<long double> - inv_sqrt2;
        const double z = -x * inv_sqrt2;
        const double z_error = -(std::fma(x, inv_sqrt2, -(x * inv_sqrt2)) + x * static_cast<double>(inv_sqrt2_error));
        return (std::erfc(z) - z_error * (2 * std::numbers::inv_sqrtpi) * std::exp(-z * z)) / 2;
    }
}
template <class T, class A>
xsimd::batch<T, A> normal_cdf(const xsimd::batch<T, A>& x) {
    return lanewise(x, [](T v) { return normal_cdf(v); });
}
/// erf; xsimd's is within 1.5 ulps in float but 34 in double, where libm's is used.
template <class T, class A>
xsimd::batch<T, A> erf(const xsimd::batch<T, A>& x) {
    if constexpr (std::is_same_v<T, float>) {
        return xsimd::erf(x);
    } else {
        return lanewise(x, [](T v) { return std::erf(v); });
    }
}
/// 1 for x > 0, else 0 (NaN included).
template <class X>
[[gnu::always_inline]] inline X step(const X& x) {
    return choose(x > X(0), X(1), X(0));
}
/// 1 for x > 0, -1 for x < 0, else 0 (NaN included).
template <class X>
[[gnu::always_inline]] inline X sign(const X& x) {
    return choose(x > X(0), X(1), choose(x < X(0), X(-1), X(0)));
}
}  // namespace direct

// ---- the functions ----------------------------------------------------------------
// Each is an object whose call picks the form for its argument: the batch and
// number forms named here, a probe's union of reads, and otherwise the
// overload that argument-dependent lookup finds (xtape's op for a Var, the
// fused primitive for an ElementwiseExpr). Being objects, they are never
// bypassed by that lookup, which would find xsimd's own exp for a batch.

namespace adl {
// Unqualified calls here find only what argument-dependent lookup finds.
void exp() = delete;
void expm1() = delete;
void log() = delete;
void log1p() = delete;
void sqrt() = delete;
void tanh() = delete;
void sigmoid() = delete;
void softplus() = delete;
void sin() = delete;
void cos() = delete;
void erf() = delete;
void normal_cdf() = delete;
void abs() = delete;
void sign() = delete;
void step() = delete;
void pow() = delete;
void clip() = delete;
void inside() = delete;
void ge() = delete;
void le() = delete;
void leaky_slope() = delete;
void elu_slope() = delete;
}  // namespace adl

#define XTAPE_RULE_FUNCTION(NAME, BATCH_FORM, NUMBER_FORM)                                        \
    namespace adl {                                                                               \
    template <class X>                                                                            \
    auto NAME##_of(const X& x) -> decltype(NAME(x)) {                                             \
        return NAME(x);                                                                           \
    }                                                                                             \
    }                                                                                             \
    struct NAME##_function {                                                                      \
        template <class X>                                                                        \
        constexpr auto operator()(const X& x) const {                                             \
            if constexpr (is_probe<X>) {                                                          \
                return touched(x);                                                     \
            } else if constexpr (is_batch<X>) {                                                   \
                return BATCH_FORM(x);                                                             \
            } else if constexpr (std::is_arithmetic_v<X>) {                                       \
                return NUMBER_FORM(x);                                                            \
            } else {                                                                              \
                return adl::NAME##_of(x);                                                         \
            }                                                                                     \
        }                                                                                         \
    };                                                                                            \
    inline constexpr NAME##_function NAME{};

XTAPE_RULE_FUNCTION(exp, kernels::math::exp_to_overflow, std::exp)
XTAPE_RULE_FUNCTION(expm1, xsimd::expm1, std::expm1)
XTAPE_RULE_FUNCTION(log, xsimd::log, std::log)
XTAPE_RULE_FUNCTION(log1p, xsimd::log1p, std::log1p)
XTAPE_RULE_FUNCTION(sqrt, xsimd::sqrt, std::sqrt)
XTAPE_RULE_FUNCTION(tanh, xsimd::tanh, std::tanh)
XTAPE_RULE_FUNCTION(sigmoid, kernels::math::stable_sigmoid, direct::sigmoid)
XTAPE_RULE_FUNCTION(softplus, kernels::math::stable_softplus, direct::softplus)
XTAPE_RULE_FUNCTION(sin, xsimd::sin, std::sin)
XTAPE_RULE_FUNCTION(cos, xsimd::cos, std::cos)
XTAPE_RULE_FUNCTION(erf, direct::erf, std::erf)
XTAPE_RULE_FUNCTION(normal_cdf, direct::normal_cdf, direct::normal_cdf)
XTAPE_RULE_FUNCTION(abs, xsimd::abs, std::abs)
XTAPE_RULE_FUNCTION(sign, direct::sign, direct::sign)
XTAPE_RULE_FUNCTION(step, direct::step, direct::step)

#undef XTAPE_RULE_FUNCTION

// The functions with a second operand or a scalar parameter. A batch's scalar
// parameters arrive as doubles and are rounded to its type first, as the ops'
// scalar arguments are.

namespace adl {
template <class X, class P>
auto pow_of(const X& x, const P& p) -> decltype(pow(x, p)) {
    return pow(x, p);
}
template <class X>
auto clip_of(const X& x, double lo, double hi) -> decltype(clip(x, lo, hi)) {
    return clip(x, lo, hi);
}
template <class X>
auto inside_of(const X& x, double lo, double hi) -> decltype(inside(x, lo, hi)) {
    return inside(x, lo, hi);
}
template <class X, class Y>
auto ge_of(const X& x, const Y& y) -> decltype(ge(x, y)) {
    return ge(x, y);
}
template <class X, class Y>
auto le_of(const X& x, const Y& y) -> decltype(le(x, y)) {
    return le(x, y);
}
template <class X>
auto leaky_slope_of(const X& x, double slope) -> decltype(leaky_slope(x, slope)) {
    return leaky_slope(x, slope);
}
template <class X>
auto elu_slope_of(const X& x, double alpha) -> decltype(elu_slope(x, alpha)) {
    return elu_slope(x, alpha);
}
}  // namespace adl

/// x to the power p (a value of x's kind or a number). Batches go lane by
/// lane through std::pow: xsimd's pow is exp(p log|x|), less accurate for
/// large results and wrong at x = 0 (0^0 = 1, 0^-1 = inf). A number p of 2, 1
/// or 0 (a focal loss's gamma, and its first and second derivatives'
/// exponents) is x * x, x or 1: what std::pow gives (the exact square rounded
/// once; x^0 = 1 for every x, NaN included), without a call per lane.
struct pow_function {
    template <class X, class P>
    constexpr auto operator()(const X& x, const P& p) const {
        if constexpr (is_probe<X> && is_probe<P>) {
            return joined(x, p);
        } else if constexpr (is_probe<X>) {
            return touched(x);
        } else if constexpr (is_batch<X>) {
            using T = typename X::value_type;
            if constexpr (is_batch<P>) {
                alignas(64) T lanes[X::size];
                alignas(64) T exponents[X::size];
                x.store_aligned(lanes);
                p.store_aligned(exponents);
                for (std::size_t i = 0; i < X::size; ++i) lanes[i] = std::pow(lanes[i], exponents[i]);
                return X::load_aligned(lanes);
            } else {
                const T e = static_cast<T>(p);
                if (e == T(0)) return X(T(1));
                if (e == T(1)) return x;
                if (e == T(2)) return x * x;
                return lanewise(x, [e](T v) { return std::pow(v, e); });
            }
        } else if constexpr (std::is_arithmetic_v<X>) {
            return std::pow(x, static_cast<X>(p));
        } else {
            return adl::pow_of(x, p);
        }
    }
};
inline constexpr pow_function pow{};

/// min(max(x, lo), hi); NaN stays NaN.
struct clip_function {
    template <class X>
    constexpr auto operator()(const X& x, double lo, double hi) const {
        if constexpr (is_probe<X>) {
            return touched(x);
        } else if constexpr (is_batch<X> || std::is_arithmetic_v<X>) {
            const X low(constant<X>(lo));
            const X high(constant<X>(hi));
            return choose(x < low, low, choose(high < x, high, x));
        } else {
            return adl::clip_of(x, lo, hi);
        }
    }
};
inline constexpr clip_function clip{};

/// 1 where lo <= x <= hi, else 0 (NaN included): the mask of clip's derivative.
struct inside_function {
    template <class X>
    constexpr auto operator()(const X& x, double lo, double hi) const {
        if constexpr (is_probe<X>) {
            return touched(x);
        } else if constexpr (is_batch<X> || std::is_arithmetic_v<X>) {
            return choose(x >= X(constant<X>(lo)) && x <= X(constant<X>(hi)), X(1), X(0));
        } else {
            return adl::inside_of(x, lo, hi);
        }
    }
};
inline constexpr inside_function inside{};

/// 1 where x >= y, else 0 (NaN included); y a value of x's kind or a number.
struct ge_function {
    template <class X, class Y>
    constexpr auto operator()(const X& x, const Y& y) const {
        if constexpr (is_probe<X> && is_probe<Y>) {
            return joined(x, y);
        } else if constexpr (is_probe<X>) {
            return touched(x);
        } else if constexpr (is_batch<X> || std::is_arithmetic_v<X>) {
            return choose(x >= X(y), X(1), X(0));
        } else {
            return adl::ge_of(x, y);
        }
    }
};
inline constexpr ge_function ge{};

/// 1 where x <= y, else 0 (NaN included); y a value of x's kind or a number.
struct le_function {
    template <class X, class Y>
    constexpr auto operator()(const X& x, const Y& y) const {
        if constexpr (is_probe<X> && is_probe<Y>) {
            return joined(x, y);
        } else if constexpr (is_probe<X>) {
            return touched(x);
        } else if constexpr (is_batch<X> || std::is_arithmetic_v<X>) {
            return choose(x <= X(y), X(1), X(0));
        } else {
            return adl::le_of(x, y);
        }
    }
};
inline constexpr le_function le{};

/// 1 where x > 0, else `slope` (NaN included): leaky_relu's derivative.
struct leaky_slope_function {
    template <class X>
    constexpr auto operator()(const X& x, double slope) const {
        if constexpr (is_probe<X>) {
            return touched(x);
        } else if constexpr (is_batch<X> || std::is_arithmetic_v<X>) {
            return choose(x > X(0), X(1), X(constant<X>(slope)));
        } else {
            return adl::leaky_slope_of(x, slope);
        }
    }
};
inline constexpr leaky_slope_function leaky_slope{};

/// 1 where x > 0, else alpha exp(x): elu's derivative.
struct elu_slope_function {
    template <class X>
    constexpr auto operator()(const X& x, double alpha) const {
        if constexpr (is_probe<X>) {
            return touched(x);
        } else if constexpr (is_batch<X> || std::is_arithmetic_v<X>) {
            return choose(x > X(0), X(1), constant<X>(alpha) * rules::exp(x));
        } else {
            return adl::elu_slope_of(x, alpha);
        }
    }
};
inline constexpr elu_slope_function elu_slope{};

}  // namespace xtape::rules
