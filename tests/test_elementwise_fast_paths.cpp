// The SIMD fast paths of the elementwise ops: binary ops and where against their
// xtensor broadcasting path, unary and scalar ops against libm, at lengths around
// the SIMD width and at special values (kinks, ties, zeros, infinities, NaN).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../src/kernels/elementwise.hpp"
#include "support/op_checks.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

// Lengths that leave every possible tail after whole SIMD batches.
const std::vector<std::size_t> lengths = {1, 3, 7, 17, 1000};

template <class T>
constexpr T infinity = std::numeric_limits<T>::infinity();
template <class T>
constexpr T not_a_number = std::numeric_limits<T>::quiet_NaN();

// n values drawn from [lo, hi), the last ones replaced by `specials` (rotated by
// n, so that short lengths see different ones and they land in the SIMD tail).
template <class T>
xt::xarray<T> values_with(std::size_t n, const std::vector<T>& specials, double lo, double hi, std::uint64_t seed) {
    xt::xarray<T> x = as<T>(random_array({n}, seed, lo, hi));
    const std::size_t k = std::min(n, specials.size());
    for (std::size_t j = 0; j < k; ++j) x(n - k + j) = specials[(j + n) % specials.size()];
    return x;
}

// Checks a unary op's value and gradient (for a random seed) against scalar
// references, value(x) and derivative(x, y) for the op's own value y (a
// derivative like 1 - y^2 would magnify y's last-place differences from libm),
// within a few units in the last place (forward_rtol), or exactly where the
// reference is 0.
template <class T, class Op, class Value, class Derivative>
void check_against_scalar(Op op, Value value, Derivative derivative, const std::vector<T>& specials, double lo,
                          double hi) {
    for (std::size_t n : lengths) {
        CAPTURE(n);
        const xt::xarray<T> x = values_with<T>(n, specials, lo, hi, 7 + n);
        const xt::xarray<T> seed = as<T>(random_array({n}, 8 + n, 0.5, 1.5));
        Tape<T> tape;
        const Var<T> v = tape.leaf(x);
        const Var<T> y = op(v);
        tape.backward(y, seed);
        xt::xarray<T> want_y = xt::empty<T>(x.shape());
        xt::xarray<T> want_g = xt::empty<T>(x.shape());
        for (std::size_t i = 0; i < n; ++i) {
            want_y(i) = value(x(i));
            want_g(i) = seed(i) * derivative(x(i), y.value()(i));
        }
        INFO("x = " << x);
        check_close<T>(y.value(), want_y, forward_rtol<T>);
        check_close<T>(v.grad(), want_g, forward_rtol<T>);
    }
}

// The (2, n) array whose two rows are `row`, a (1, n) array.
template <class T>
xt::xarray<T> two_rows(const xt::xarray<T>& row) {
    const std::size_t n = row.size();
    xt::xarray<T> out = xt::empty<T>(Shape{2, n});
    for (std::size_t j = 0; j < n; ++j) out(0, j) = out(1, j) = row(0, j);
    return out;
}

// Row 0 plus row 1 of a (2, n) array, as a (1, n) array: a broadcast row's gradient.
template <class T>
xt::xarray<T> row_sum(const xt::xarray<T>& a) {
    const std::size_t n = a.shape()[1];
    xt::xarray<T> out = xt::empty<T>(Shape{1, n});
    for (std::size_t j = 0; j < n; ++j) out(0, j) = a(0, j) + a(1, j);
    return out;
}

// Checks that op(a, b) and op(b, a) with a of shape (2, n) and b of the same
// shape (the SIMD path) give the values and gradients of b given as one (1, n)
// row broadcast over both (the xtensor path). Some of b's elements tie with
// a's, and `specials` land among both.
template <class T, class Op>
void check_same_as_broadcast(Op op, const std::vector<T>& specials, double lo, double hi) {
    for (std::size_t n : lengths) {
        CAPTURE(n);
        xt::xarray<T> a = as<T>(random_array({2, n}, 20 + n, lo, hi));
        xt::xarray<T> row = values_with<T>(n, specials, lo, hi, 21 + n);
        row.reshape({1, n});
        for (std::size_t j = 0; j < n; j += 3) a(0, j) = row(0, j);  // ties
        const xt::xarray<T> tail = values_with<T>(n, specials, lo, hi, 22 + n);
        for (std::size_t j = 0; j + 1 < n; j += 2) a(1, j) = tail(n - 1 - j);
        const xt::xarray<T> seed = as<T>(random_array({2, n}, 23 + n, 0.5, 1.5));
        for (bool a_first : {true, false}) {
            CAPTURE(a_first);
            auto apply = [&](const Var<T>& x, const Var<T>& y) { return a_first ? op(x, y) : op(y, x); };
            Tape<T> fast_tape, broadcast_tape;
            const Var<T> va = fast_tape.leaf(a), vb = fast_tape.leaf(two_rows(row));
            const Var<T> fast = apply(va, vb);
            fast_tape.backward(fast, seed);
            const Var<T> wa = broadcast_tape.leaf(a), wrow = broadcast_tape.leaf(row);
            const Var<T> broadcast = apply(wa, wrow);
            broadcast_tape.backward(broadcast, seed);
            check_close<T>(fast.value(), broadcast.value(), 0);
            check_close<T>(va.grad(), wa.grad(), 0);
            check_close<T>(row_sum(vb.grad()), wrow.grad(), 0);
        }
    }
}

}  // namespace

// ---- binary ops and where: the SIMD path against xtensor's ----------------------------

TEST_CASE("the fast paths' shape test compares shapes, not values") {
    // Called unqualified, as the ops call it: a name that argument-dependent
    // lookup could resolve to xt::same_shape (a comparison of the values) would
    // send every pair of distinct operands to the slow broadcasting path.
    using kernels::shapes_agree;
    const xt::xarray<float> a = {{1, 2, 3}, {4, 5, 6}};
    const xt::xarray<float> b = {{6, 5, 4}, {3, 2, 1}};
    const xt::xarray<float> flat = {1, 2, 3, 4, 5, 6};
    CHECK(shapes_agree(a, b));
    CHECK(shapes_agree(a, b, a));
    CHECK_FALSE(shapes_agree(a, flat));
    CHECK_FALSE(shapes_agree(a, b, flat));
}

TEST_CASE_TEMPLATE("binary ops: one shape gives what broadcasting gives, values and gradients", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    const std::vector<T> specials = {T(0), -T(0), inf, -inf, nan, T(1e30), T(-1e-30), T(2)};
    SUBCASE("add") { check_same_as_broadcast<T>([](auto x, auto y) { return x + y; }, specials, -2, 2); }
    SUBCASE("sub") { check_same_as_broadcast<T>([](auto x, auto y) { return x - y; }, specials, -2, 2); }
    SUBCASE("mul") { check_same_as_broadcast<T>([](auto x, auto y) { return x * y; }, specials, -2, 2); }
    SUBCASE("div") { check_same_as_broadcast<T>([](auto x, auto y) { return x / y; }, specials, -2, 2); }
    SUBCASE("maximum") { check_same_as_broadcast<T>([](auto x, auto y) { return maximum(x, y); }, specials, -2, 2); }
    SUBCASE("minimum") { check_same_as_broadcast<T>([](auto x, auto y) { return minimum(x, y); }, specials, -2, 2); }
}

TEST_CASE_TEMPLATE("where: a mask of the operands' shape gives what a broadcast mask gives", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    for (std::size_t n : lengths) {
        CAPTURE(n);
        Mask row = xt::empty<bool>(Shape{1, n});
        for (std::size_t j = 0; j < n; ++j) row(0, j) = (j * 7 + n) % 3 != 0;
        Mask full = xt::empty<bool>(Shape{2, n});
        for (std::size_t j = 0; j < n; ++j) full(0, j) = full(1, j) = row(0, j);
        xt::xarray<T> a = values_with<T>(2 * n, {nan, inf, T(0)}, -1, 1, 30 + n);
        xt::xarray<T> b = values_with<T>(2 * n, {-inf, nan}, -1, 1, 31 + n);
        a.reshape({2, n});
        b.reshape({2, n});
        const xt::xarray<T> seed = as<T>(random_array({2, n}, 32 + n, 0.5, 1.5));
        Tape<T> fast_tape, broadcast_tape;
        const Var<T> va = fast_tape.leaf(a), vb = fast_tape.leaf(b);
        const Var<T> fast = xtape::where(full, va, vb);
        fast_tape.backward(fast, seed);
        const Var<T> wa = broadcast_tape.leaf(a), wb = broadcast_tape.leaf(b);
        const Var<T> broadcast = xtape::where(row, wa, wb);
        broadcast_tape.backward(broadcast, seed);
        check_close<T>(fast.value(), broadcast.value(), 0);
        check_close<T>(va.grad(), wa.grad(), 0);
        check_close<T>(vb.grad(), wb.grad(), 0);
        // And element by element: the mask picks, and sends the seed the same way.
        for (std::size_t i = 0; i < 2; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
                const T want = full(i, j) ? a(i, j) : b(i, j);
                CHECK((std::isnan(want) ? std::isnan(fast.value()(i, j)) : fast.value()(i, j) == want));
                CHECK(va.grad()(i, j) == (full(i, j) ? seed(i, j) : T(0)));
                CHECK(vb.grad()(i, j) == (full(i, j) ? T(0) : seed(i, j)));
            }
        }
    }
}

// ---- unary and scalar ops: the SIMD pass against libm -------------------------------------

TEST_CASE_TEMPLATE("exp, log, log1p, sqrt match libm at every length and at their special values", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    // exp(big) is finite (past the point where xsimd's exp alone gives inf),
    // exp(big + 1) overflows.
    const T big = std::is_same_v<T, float> ? T(88.5) : T(709.5);
    check_against_scalar<T>([](auto v) { return exp(v); }, [](T x) { return std::exp(x); },
                            [](T, T y) { return y; }, {T(0), inf, -inf, nan, big, big + 1, T(-80)}, -5, 5);
    check_against_scalar<T>([](auto v) { return log(v); }, [](T x) { return std::log(x); },
                            [](T x, T) { return T(1) / x; }, {T(1), T(0), inf, T(-1), nan, T(1e-30)}, 0.01, 10);
    check_against_scalar<T>([](auto v) { return log1p(v); }, [](T x) { return std::log1p(x); },
                            [](T x, T) { return T(1) / (x + T(1)); },
                            {T(0), T(1e-10), T(-1), T(-2), inf, nan, T(-0.999)}, -0.9, 10);
    check_against_scalar<T>([](auto v) { return sqrt(v); }, [](T x) { return std::sqrt(x); },
                            [](T, T y) { return T(1) / (T(2) * y); }, {T(0), T(1), T(-1), inf, nan}, 0.01, 10);
}

TEST_CASE_TEMPLATE("neg, square, pow, tanh match libm at every length and at their special values", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    const std::vector<T> specials = {T(0), -T(0), inf, -inf, nan, T(1e4), T(-1e4)};
    check_against_scalar<T>([](auto v) { return -v; }, [](T x) { return -x; }, [](T, T) { return T(-1); }, specials,
                            -3, 3);
    check_against_scalar<T>([](auto v) { return square(v); }, [](T x) { return x * x; },
                            [](T x, T) { return T(2) * x; }, specials, -3, 3);
    check_against_scalar<T>([](auto v) { return pow(v, T(3)); }, [](T x) { return std::pow(x, T(3)); },
                            [](T x, T) { return T(3) * std::pow(x, T(2)); }, specials, -3, 3);
    check_against_scalar<T>([](auto v) { return pow(v, T(-0.5)); }, [](T x) { return std::pow(x, T(-0.5)); },
                            [](T x, T) { return T(-0.5) * std::pow(x, T(-1.5)); }, {T(0), inf, T(-1)}, 0.1, 3);
    // p = 2, 1 and 0 are computed as x * x, x and 1: bit for bit what std::pow gives.
    for (const T p : {T(2), T(1), T(0)}) {
        CAPTURE(p);
        check_against_scalar<T>([p](auto v) { return pow(v, p); }, [p](T x) { return std::pow(x, p); },
                                [p](T x, T) { return p * std::pow(x, p - T(1)); }, specials, -3, 3);
        const xt::xarray<T> x = values_with<T>(37, specials, -1e3, 1e3, 5);
        Tape<T> tape;
        const xt::xarray<T> y = pow(tape.constant(x), p).value();
        for (std::size_t i = 0; i < x.size(); ++i) {
            CAPTURE(x(i));
            const T want = std::pow(x(i), p);
            if (std::isnan(want)) {
                CHECK(std::isnan(y(i)));
            } else {
                CHECK(y(i) == want);
                CHECK(std::signbit(y(i)) == std::signbit(want));
            }
        }
    }
    // 1 - y^2 rounded once (y^2 is exact in double), which the rule's
    // (1 - y)(1 + y) meets within an ulp or two at every optimisation level; near
    // |y| = 1 a separately rounded y^2 would be magnified by the cancellation.
    check_against_scalar<T>([](auto v) { return tanh(v); }, [](T x) { return std::tanh(x); },
                            [](T, T y) { return static_cast<T>(1 - double(y) * double(y)); }, specials, -3, 3);
}

TEST_CASE_TEMPLATE("sigmoid and softplus stay stable for every sign and magnitude", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    auto sigmoid_of = [](T x) {
        if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
        const T e = std::exp(x);
        return e / (T(1) + e);
    };
    const std::vector<T> specials = {T(0), -T(0), inf, -inf, nan, T(1e4), T(-1e4), T(30), T(-30), T(80)};
    check_against_scalar<T>([](auto v) { return sigmoid(v); }, sigmoid_of,
                            [](T, T s) { return s * (T(1) - s); }, specials, -10, 10);
    check_against_scalar<T>([](auto v) { return softplus(v); },
                            [](T x) { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); },
                            [&](T x, T) { return sigmoid_of(x); }, specials, -10, 10);
}

TEST_CASE_TEMPLATE("smooth_l1: both pieces, the seam and the special values at every length", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    const T rho = T(0.75);
    // The seam +-rho takes the quadratic piece (slope +-1 either way).
    const std::vector<T> specials = {T(0), -T(0), rho, -rho, inf, -inf, nan, T(1e4), T(-1e4)};
    check_against_scalar<T>([rho](auto v) { return smooth_l1(v, rho); },
                            [rho](T x) { return std::abs(x) > rho ? std::abs(x) - rho / 2 : x * x / (2 * rho); },
                            [rho](T x, T) { return x > rho ? T(1) : x < -rho ? T(-1) : x / rho; }, specials, -3, 3);
}

TEST_CASE_TEMPLATE("abs, relu, clip keep their kink conventions and NaN at every length", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    const std::vector<T> specials = {T(0), -T(0), T(-1), T(1), inf, -inf, nan};
    auto sign = [](T x, T) { return x > T(0) ? T(1) : x < T(0) ? T(-1) : T(0); };
    check_against_scalar<T>([](auto v) { return abs(v); }, [](T x) { return std::abs(x); }, sign, specials, -2, 2);
    check_against_scalar<T>([](auto v) { return relu(v); }, [](T x) { return x < T(0) ? T(0) : x; },
                            [](T x, T) { return x > T(0) ? T(1) : T(0); }, specials, -2, 2);
    check_against_scalar<T>([](auto v) { return clip(v, T(-1), T(1)); },
                            [](T x) { return x < T(-1) ? T(-1) : x > T(1) ? T(1) : x; },
                            [](T x, T) { return x >= T(-1) && x <= T(1) ? T(1) : T(0); }, specials, -2, 2);
}

TEST_CASE_TEMPLATE("scalar forms match their scalar formulas at every length", T, float, double) {
    const T inf = infinity<T>, nan = not_a_number<T>;
    const std::vector<T> specials = {T(0), -T(0), T(0.5), inf, -inf, nan};
    const T s = T(0.5);
    check_against_scalar<T>([s](auto v) { return v + s; }, [s](T x) { return x + s; }, [](T, T) { return T(1); },
                            specials, -2, 2);
    check_against_scalar<T>([s](auto v) { return v * T(3); }, [](T x) { return x * T(3); },
                            [](T, T) { return T(3); }, specials, -2, 2);
    check_against_scalar<T>([](auto v) { return v / T(4); }, [](T x) { return x / T(4); },
                            [](T, T) { return T(0.25); }, specials, -2, 2);
    check_against_scalar<T>([s](auto v) { return s - v; }, [s](T x) { return s - x; }, [](T, T) { return T(-1); },
                            specials, -2, 2);
    check_against_scalar<T>([](auto v) { return T(2) / v; }, [](T x) { return T(2) / x; },
                            [](T x, T y) { return -y / x; }, specials, -2, 2);
    // a wins ties with the scalar
    check_against_scalar<T>([s](auto v) { return maximum(v, s); }, [s](T x) { return x > s ? x : s; },
                            [s](T x, T) { return x >= s ? T(1) : T(0); }, specials, -2, 2);
    check_against_scalar<T>([s](auto v) { return minimum(v, s); }, [s](T x) { return x < s ? x : s; },
                            [s](T x, T) { return x <= s ? T(1) : T(0); }, specials, -2, 2);
}
