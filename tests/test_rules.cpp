// The elementwise rules (src/rules/elementwise.hpp), each written once: the
// derivative against central differences of the value, both in their number
// form; the kernels the ops and fused tiles run (the batch form) against the
// number form; and what the planner learns from a derivative by probing it.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../src/rules/kernels.hpp"

using namespace xtape::rules;

namespace {

// The scalars every rule is tried with: s = 0.75 for a scalar operand, rho,
// slope or alpha; [0.75, 2] for clip and inside.
constexpr Scalars scalars{0.75, 2.0};

// Points away from every kink (0, the scalar 0.75, the bounds and each other),
// positive ones first for the rules that want them.
const std::vector<double> positive_points = {0.31, 1.37, 2.6};
const std::vector<double> other_points = {-1.9, -0.55, 0.31, 1.37, 2.6};

// Rules defined only for a > 0 (or a > -1, or b != 0), checked on positive points.
bool wants_positive(Op op) {
    switch (op) {
        case Op::log: case Op::log1p: case Op::sqrt: case Op::pow: case Op::pow_scalar: case Op::div:
        case Op::rdiv_scalar: return true;
        default: return false;
    }
}

template <class R>
double value_of(double a, double b) {
    if constexpr (R::arity == 1) {
        return R::value(a, scalars);
    } else {
        return R::value(a, b, scalars);
    }
}

// R's derivative with respect to each operand at (a, b), against a central
// difference of step h = 1e-6 (1 + |x|): its truncation error is about h^2
// |f'''| ~ 1e-12 and its rounding about 1e-16 / h ~ 1e-10 for these O(1)
// values, so 1e-7 relative (plus 1e-9) holds with a wide margin and still
// catches a wrong formula.
template <class R>
void check_derivative(double a, double b) {
    const double y = value_of<R>(a, b);
    for (int which = 0; which < R::arity; ++which) {
        CAPTURE(which);
        const double x = which == 0 ? a : b;
        const double h = 1e-6 * (1 + std::abs(x));
        const auto at = [&](double shifted) {
            return which == 0 ? value_of<R>(shifted, b) : value_of<R>(a, shifted);
        };
        const double numeric = (at(x + h) - at(x - h)) / (2 * h);
        const double analytic = R::derivative(which, 1.0, a, b, y, scalars);
        CHECK(std::abs(analytic - numeric) <= 1e-9 + 1e-7 * std::abs(numeric));
        // The derivative is linear in g.
        CHECK(R::derivative(which, 2.5, a, b, y, scalars) == doctest::Approx(2.5 * analytic).epsilon(1e-15));
    }
}

struct CheckRule {
    template <class R>
    void operator()() const {
        CAPTURE(std::string(R::name));
        const std::vector<double>& points = wants_positive(op_of<R>) ? positive_points : other_points;
        for (double a : points) {
            for (double b : {1.13, 2.3}) {
                CAPTURE(a);
                CAPTURE(b);
                if constexpr (PiecewiseConstant<R>) {
                    // A mask: its value is the same a step away on either side.
                    CHECK(value_of<R>(a - 1e-6, b) == value_of<R>(a + 1e-6, b));
                } else {
                    check_derivative<R>(a, b);
                }
            }
        }
    }
};

template <class T>
T ulps_apart(T x, T y) {
    if (x == y) return 0;
    return std::abs(x - y) / (std::numeric_limits<T>::epsilon() * std::max(std::abs(x), std::abs(y)));
}

}  // namespace

TEST_CASE("rules: every derivative agrees with central differences of its value") {
#define XTAPE_CHECK_RULE(Rule, op) CheckRule{}.operator()<Rule>();
    XTAPE_ELEMENTWISE_RULES(XTAPE_CHECK_RULE)
#undef XTAPE_CHECK_RULE
}

TEST_CASE_TEMPLATE("rules: the kernels of every op compute its rule", T, float, double) {
    // The op codes dispatch to the right rules, and the batch forms (xsimd's
    // transcendentals, the stable sigmoid and softplus) stay within a few
    // ulps of the number forms (libm's).
    const Kernels<T>& kernels = best_kernels<T>();
    std::vector<T> a, b;
    for (double x : other_points) {
        for (double y : {1.13, 2.3}) {
            a.push_back(static_cast<T>(std::abs(x)));  // positive: every rule's domain
            b.push_back(static_cast<T>(y));
        }
    }
    const std::size_t n = a.size();
    for (std::size_t code = 0; code < std::size(op_traits); ++code) {
        const Op op = static_cast<Op>(code);
        const OpTraits& t = traits(op);
        CAPTURE(std::string(t.name));
        std::vector<T> y(n), d(n);
        kernels.apply(op, scalars, n, a.data(), b.data(), y.data());
        visit_rule(op, [&]<class R>() {
            for (std::size_t i = 0; i < n; ++i) {
                CAPTURE(a[i]);
                const T want = static_cast<T>(value_of<R>(a[i], b[i]));
                CHECK(ulps_apart(y[i], want) <= 8);
            }
            if constexpr (!PiecewiseConstant<R>) {
                for (int which = 0; which < R::arity; ++which) {
                    kernels.derivative(op, scalars, which, n, b.data(), a.data(), b.data(), y.data(), nullptr,
                                       d.data());
                    for (std::size_t i = 0; i < n; ++i) {
                        CAPTURE(a[i]);
                        const T want = static_cast<T>(R::derivative(which, double(b[i]), double(a[i]), double(b[i]),
                                                                    double(y[i]), scalars));
                        CHECK(ulps_apart(d[i], want) <= 16);
                    }
                }
            }
        });
    }
}

TEST_CASE("rules: what a derivative reads is found from the derivative itself") {
    CHECK(traits(Op::exp).reads[0] == (reads_gradient | reads_result));
    CHECK(traits(Op::log).reads[0] == (reads_gradient | reads_a));
    CHECK(traits(Op::mul).reads[0] == (reads_gradient | reads_b));
    CHECK(traits(Op::mul).reads[1] == (reads_gradient | reads_a));
    CHECK(traits(Op::div).reads[1] == (reads_gradient | reads_b | reads_result));
    CHECK(traits(Op::neg).reads[0] == reads_gradient);
    // The incoming gradient passed on unchanged: no kernel call in a fused sweep.
    CHECK(traits(Op::add).passes_gradient[0]);
    CHECK(traits(Op::add).passes_gradient[1]);
    CHECK(traits(Op::sub).passes_gradient[0]);
    CHECK_FALSE(traits(Op::sub).passes_gradient[1]);
    CHECK_FALSE(traits(Op::mul_scalar).passes_gradient[0]);
    CHECK(traits(Op::softplus).has_slope);
    CHECK_FALSE(traits(Op::sigmoid).has_slope);
    CHECK(traits(Op::step).piecewise_constant);
    CHECK_FALSE(traits(Op::elu_slope).piecewise_constant);
}
