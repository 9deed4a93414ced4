// gradcheck itself: it passes correct gradients in full and fast mode, and it
// catches a deliberately wrong one, reporting the input, the index and both values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "support/op_checks.hpp"
#include "support/registry_walk.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

// x * y elementwise, recorded as a custom op whose backward is right except
// that the gradient of y at flat index `wrong_index` is off by `error`.
Var<double> mul_with_wrong_gradient(Tape<double>& tape, const Var<double>& x, const Var<double>& y,
                                    std::size_t wrong_index, double error) {
    return tape.record("broken_mul", {x, y}, x.value() * y.value(), [wrong_index, error](GradContext<double>& c) {
        c.accumulate(0, c.grad() * c.input(1));
        xt::xarray<double> dy = c.grad() * c.input(0);
        dy.flat(wrong_index) += error;
        c.accumulate(1, std::move(dy));
    });
}

// A correct function of two inputs with broadcasting: log_softmax(x * y) along rows.
Var<double> correct(Tape<double>&, const std::vector<Var<double>>& v) { return log_softmax(v[0] * v[1], -1); }

}  // namespace

TEST_CASE("gradcheck passes a correct gradient in full mode, comparing every element") {
    const std::vector<GradcheckInput> inputs{{"x", random_array({3, 4}, 1)}, {"y", random_array({4}, 2)}};
    const GradcheckResult r = gradcheck(correct, inputs);
    INFO(to_string(r));
    CHECK(r.passed);
    CHECK(r.checked == 16);
    CHECK(r.max_abs_error < 1e-7);
    CHECK(r.problem.empty());
}

TEST_CASE("gradcheck passes a correct gradient in fast mode, one comparison per direction") {
    const std::vector<GradcheckInput> inputs{{"x", random_array({3, 4}, 1)}, {"y", random_array({4}, 2)}};
    GradcheckOptions options;
    options.fast = true;
    options.directions = 3;
    const GradcheckResult r = gradcheck(correct, inputs, options);
    INFO(to_string(r));
    CHECK(r.passed);
    CHECK(r.checked == 3);
}

TEST_CASE("gradcheck catches a wrong gradient and names the input, the index and both values") {
    const auto x = random_array({2, 3}, 3), y = random_array({2, 3}, 4);
    auto broken = [](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return mul_with_wrong_gradient(tape, v[0], v[1], 4, 0.5);
    };
    const GradcheckResult r = gradcheck(broken, {{"x", x}, {"y", y}});
    CHECK_FALSE(r.passed);
    CHECK(r.worst_input == "y");
    CHECK(r.worst_index == 4);
    // The numeric value is x[4] times the projection weight v[4] in [0.5, 1.5];
    // the analytic one is off by the 0.5 added to it.
    CHECK(r.worst_numeric / x.flat(4) >= 0.5);
    CHECK(r.worst_numeric / x.flat(4) <= 1.5);
    CHECK(r.worst_analytic - r.worst_numeric == doctest::Approx(0.5).epsilon(1e-6));
    // Printable, with everything a reader needs.
    const std::string text = fmt::format("{}", r);
    CHECK(text == to_string(r));
    CHECK(text.find("FAILED") != std::string::npos);
    CHECK(text.find("y[4]") != std::string::npos);
    CHECK(text.find(fmt::format("analytic {:.17g}", r.worst_analytic)) != std::string::npos);
    CHECK(text.find(fmt::format("numeric {:.17g}", r.worst_numeric)) != std::string::npos);
}

TEST_CASE("gradcheck catches a small relative error, just above its tolerance") {
    // An error of 1% of the true derivative (|x| >= 0.5, so >= 5e-3 absolute)
    // is far above atol + rtol |numeric| <= 1e-5 + 1e-3 * 1.5.
    const auto x = random_away_from({4}, 5, 0, 0.5), y = random_array({4}, 6);
    auto broken = [&](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return mul_with_wrong_gradient(tape, v[0], v[1], 0, 0.01 * x.flat(0));
    };
    const GradcheckResult r = gradcheck(broken, {{"x", x}, {"y", y}});
    CHECK_FALSE(r.passed);
    CHECK(r.worst_input == "y");
    CHECK(r.worst_index == 0);
}

TEST_CASE("gradcheck in fast mode catches a wrong gradient too") {
    const auto x = random_array({2, 3}, 7), y = random_array({2, 3}, 8);
    auto broken = [](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return mul_with_wrong_gradient(tape, v[0], v[1], 2, 0.5);
    };
    GradcheckOptions options;
    options.fast = true;
    const GradcheckResult r = gradcheck(broken, {{"x", x}, {"y", y}}, options);
    CHECK_FALSE(r.passed);
    CHECK(r.worst_input == "direction");
    CHECK(std::abs(r.worst_analytic - r.worst_numeric) > 1e-5);
}

TEST_CASE("gradcheck checks every output element of a non-scalar output") {
    // The gradients of two output elements are swapped: their sum stays right,
    // so a check through sum(y) would miss it; the random projection does not.
    auto broken = [](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return tape.record("swap_gradients", {v[0]}, v[0].value(), [](GradContext<double>& c) {
            xt::xarray<double> g = c.grad();
            std::swap(g.flat(0), g.flat(1));  // the sum of the gradient stays right
            c.accumulate(0, std::move(g));
        });
    };
    const GradcheckResult r = gradcheck(broken, {{"x", random_array({6}, 9)}});
    CHECK_FALSE(r.passed);
    CHECK(r.worst_index <= 1);
}

TEST_CASE("gradcheck reports a non-finite output as a problem instead of comparing") {
    auto infinite = [](Tape<double>&, const std::vector<Var<double>>& v) { return log(v[0]); };
    const GradcheckResult r = gradcheck(infinite, {{"x", xt::xarray<double>{1, 0}}});
    CHECK_FALSE(r.passed);
    CHECK(r.problem.find("not finite") != std::string::npos);
    CHECK(to_string(r).find("failed: the output is not finite") == 0);
}

TEST_CASE("gradcheck reports the element furthest outside its tolerance, not the first failure") {
    // Two wrong elements of y's gradient: index 1 off by 3e-3 (just outside
    // atol + rtol |numeric| <= 1e-5 + 1e-3 * 1.5), index 4 off by 2.92.
    const auto x = random_array({2, 3}, 3), y = random_array({2, 3}, 4);
    auto broken = [](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return tape.record("broken_mul", {v[0], v[1]}, v[0].value() * v[1].value(), [](GradContext<double>& c) {
            c.accumulate(0, c.grad() * c.input(1));
            xt::xarray<double> dy = c.grad() * c.input(0);
            dy.flat(1) += 3e-3;
            dy.flat(4) += 2.92;
            c.accumulate(1, std::move(dy));
        });
    };
    const GradcheckResult r = gradcheck(broken, {{"x", x}, {"y", y}});
    INFO(to_string(r));
    CHECK_FALSE(r.passed);
    CHECK(r.failures == 2);
    CHECK(r.worst_input == "y");
    CHECK(r.worst_index == 4);
    CHECK(r.worst_analytic - r.worst_numeric == doctest::Approx(2.92).epsilon(1e-6));
    CHECK(r.max_abs_error == doctest::Approx(2.92).epsilon(1e-6));
    CHECK(to_string(r).find("2 of 12 outside tolerance") != std::string::npos);
}

TEST_CASE("gradcheck does not project a single-element output: the values are the plain derivative") {
    // f(x) = sum(x^2): every printed value must be 2 x[i], as by hand.
    const auto x = random_away_from({5}, 11, 0, 0.2);
    for (const bool keep_axis : {false, true}) {
        CAPTURE(keep_axis);
        auto f = [keep_axis](Tape<double>&, const std::vector<Var<double>>& v) {
            return sum(square(v[0]), keep_axis ? Axes{0} : Axes{}, keep_axis);  // shape () or (1,)
        };
        const GradcheckResult r = gradcheck(f, {{"x", x}});
        INFO(to_string(r));
        CHECK(r.passed);
        CHECK(r.worst_analytic == doctest::Approx(2 * x.flat(r.worst_index)).epsilon(1e-12));
        CHECK(r.worst_numeric == doctest::Approx(2 * x.flat(r.worst_index)).epsilon(1e-8));
    }
}

TEST_CASE("gradcheck names a non-finite analytic gradient and says that it is not finite") {
    auto infinite_gradient = [](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return tape.record("inf_at_2", {v[0]}, v[0].value(), [](GradContext<double>& c) {
            xt::xarray<double> g = c.grad();
            g.flat(2) = std::numeric_limits<double>::infinity();
            c.accumulate(0, std::move(g));
        });
    };
    const GradcheckResult r = gradcheck(infinite_gradient, {{"x", random_array({4}, 12)}});
    INFO(to_string(r));
    CHECK_FALSE(r.passed);
    CHECK(r.worst_input == "x");
    CHECK(r.worst_index == 2);
    CHECK(std::isinf(r.worst_analytic));
    CHECK(r.problem.find("x[2]") != std::string::npos);
    CHECK(r.problem.find("not finite") != std::string::npos);
    CHECK(to_string(r).find("x[2]") != std::string::npos);
}

TEST_CASE("gradcheck names a non-finite central difference and says that it is not finite") {
    // log at x[1] = 5e-7: the step eps = 1e-6 takes it below 0, where log is NaN.
    auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return log(v[0]); };
    const GradcheckResult r = gradcheck(f, {{"x", xt::xarray<double>{1.0, 5e-7, 2.0}}});
    INFO(to_string(r));
    CHECK_FALSE(r.passed);
    CHECK(r.worst_index == 1);
    CHECK(std::isfinite(r.worst_analytic));
    CHECK(std::isnan(r.worst_numeric));
    CHECK(r.problem.find("x[1]") != std::string::npos);
    CHECK(r.problem.find("not finite") != std::string::npos);
}

// ---- the Taylor test ----------------------------------------------------------------

namespace {

// The smallest rate of a series over the steps above rounding, and whether every step gave one.
bool every_rate_measured(const TaylorSeries& s) {
    return std::none_of(s.rates.begin(), s.rates.end(), [](double r) { return std::isnan(r); });
}

// Whether the loss is 0 at every sample.
bool all_zero(const LossInfo& info, const OptionMap& options, const ArrayMap<double>& inputs) {
    Tape<double> tape;
    return xt::all(xt::equal(test::apply_on<double>(tape, info, options, inputs, {}, {}).value(), 0.0));
}

}  // namespace

TEST_CASE("the Taylor test passes a correct gradient: R0 falls as eps, R1 as eps^2, every step above rounding") {
    const std::vector<GradcheckInput> inputs{{"x", random_array({3, 4}, 1)}, {"y", random_array({4}, 2)}};
    const TaylorResult r = taylor_test(correct, inputs);
    INFO(to_string(r));
    CHECK(r.passed);
    CHECK(r.problem.empty());
    REQUIRE(r.series.size() == 2);  // no curvature given: no R2
    REQUIRE(r.eps.size() == 6);
    CHECK(r.eps.front() <= 1e-3);
    for (std::size_t k = 0; k + 1 < r.eps.size(); ++k) CHECK(r.eps[k + 1] == r.eps[k] / 2);
    for (const TaylorSeries& s : r.series) {
        CAPTURE(s.order);
        CHECK(every_rate_measured(s));
        for (double rate : s.rates) CHECK(rate == doctest::Approx(s.expected_rate).epsilon(0.05));
        // eps0 keeps even the smallest residual well above rounding.
        CHECK(s.residuals.back() > 100 * r.rounding);
    }
    CHECK(to_string(r).rfind("passed: R1 rate >= ", 0) == 0);
}

TEST_CASE("the Taylor test fails a gradient that is slightly wrong: R1 falls as eps") {
    // The gradient of y[2] off by 1e-4: within central differences' tolerance
    // there (atol + rtol |numeric| > 1e-4), still caught.
    const auto x = random_array({2, 3}, 3), y = random_array({2, 3}, 4);
    auto broken = [](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return mul_with_wrong_gradient(tape, v[0], v[1], 2, 1e-4);
    };
    const GradcheckResult differences = gradcheck(broken, {{"x", x}, {"y", y}});
    INFO(to_string(differences));
    CHECK(differences.passed);
    const TaylorResult r = taylor_test(broken, {{"x", x}, {"y", y}});
    INFO(to_string(r));
    CHECK_FALSE(r.passed);
    CHECK(r.series[1].min_rate < 1.5);
    CHECK(r.problem.find("R1 falls at rate") != std::string::npos);
    CHECK(to_string(r).rfind("FAILED: R1 falls at rate", 0) == 0);
}

TEST_CASE("the Taylor test of a function linear along h: R1 stays at rounding and the test passes") {
    const xt::xarray<double> c = random_array({5}, 13);
    auto linear = [&](Tape<double>& tape, const std::vector<Var<double>>& v) { return mul(v[0], tape.constant(c)); };
    const TaylorResult r = taylor_test(linear, {{"x", random_array({5}, 14)}});
    INFO(to_string(r));
    CHECK(r.passed);
    CHECK(r.series[1].at_rounding);
    CHECK(every_rate_measured(r.series[0]));
    CHECK(to_string(r).find("R1 at rounding level") != std::string::npos);

    // The same function with a wrong gradient is no longer at rounding.
    auto broken = [&](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return mul_with_wrong_gradient(tape, tape.constant(c), v[0], 0, 1e-6);
    };
    const TaylorResult wrong = taylor_test(broken, {{"x", random_array({5}, 14)}});
    INFO(to_string(wrong));
    CHECK_FALSE(wrong.passed);
    CHECK(wrong.series[1].min_rate == doctest::Approx(1).epsilon(0.05));
}

TEST_CASE("the Taylor test of a function that does not change says there is nothing to compare") {
    auto flat = [](Tape<double>& tape, const std::vector<Var<double>>& v) {
        return mul(v[0], tape.constant(xt::xarray<double>{0.0, 0.0}));
    };
    const TaylorResult r = taylor_test(flat, {{"x", xt::xarray<double>{1.0, 2.0}}});
    CHECK_FALSE(r.passed);
    CHECK(r.problem.find("does not change") != std::string::npos);
}

TEST_CASE("the Taylor test's R2 falls as eps^3 with the right curvature and as eps^2 with a wrong one") {
    // J = sum(exp(x)): hᵀHh = sum(exp(x) h²), by hand. The curvature function is
    // what a Hessian-vector product will supply.
    auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(exp(v[0])); };
    const std::vector<GradcheckInput> inputs{{"x", random_array({6}, 15)}};
    for (const double factor : {1.0, 1.01}) {
        CAPTURE(factor);
        TaylorOptions options;
        // R2 falls by 8 per halving: it needs larger steps than R1 to stay above rounding.
        options.max_eps = 1e-2;
        options.curvature = [factor](const GradcheckFunction&, const std::vector<GradcheckInput>& x,
                                     const std::vector<xt::xarray<double>>& h) {
            return factor * xt::sum(xt::exp(x[0].value) * h[0] * h[0])();
        };
        const TaylorResult r = taylor_test(f, inputs, options);
        INFO(to_string(r));
        REQUIRE(r.series.size() == 3);
        CHECK(every_rate_measured(r.series[2]));
        if (factor == 1.0) {
            CHECK(r.passed);
            for (double rate : r.series[2].rates) CHECK(rate == doctest::Approx(3).epsilon(0.05));
        } else {
            CHECK_FALSE(r.passed);
            CHECK(r.problem.find("R2 falls at rate") != std::string::npos);
        }
    }
}

TEST_CASE("the Taylor test passes every registered loss over its option grid, every step above rounding") {
    std::size_t tests = 0;
    for (const LossInfo& info : loss_registry()) {
        for (const OptionMap& options : test::option_grid(info)) {
            for (const Shape& shape : info.check_shapes) {
                // A point where the loss is 0 nearby (every triplet or dissimilar pair
                // inside its margin) gives the test nothing to compare: draw another.
                ArrayMap<double> inputs;
                for (std::uint64_t seed = 23 + tests; inputs.empty() || all_zero(info, options, inputs); seed += 1000) {
                    inputs = info.sample(options, shape, seed);
                }
                const test::LossFunction f(info, options, inputs);
                TaylorOptions taylor;
                taylor.seed = tests;
                const TaylorResult r = taylor_test(f, f.leaves, taylor);
                INFO(info.repr(options), " shape ", to_string(shape), ": ", to_string(r));
                CHECK(r.passed);
                CHECK((every_rate_measured(r.series[1]) || r.series[1].at_rounding));
                ++tests;
            }
        }
    }
    MESSAGE(tests, " Taylor tests");
}

TEST_CASE("the Taylor test takes its steps below a kink near x, and fails a point on a kink as such") {
    // relu(x) + x²: a kink at 0. x[0] = 1e-5 sits closer to it than the largest steps.
    auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(add(relu(v[0]), square(v[0]))); };
    const TaylorResult near = taylor_test(f, {{"x", xt::xarray<double>{1e-5, 0.5, -0.7, 0.3}}});
    INFO(to_string(near));
    CHECK(near.passed);
    CHECK(near.eps.front() < 1e-5);
    CHECK(near.note.find("kink") != std::string::npos);
    CHECK(to_string(near).find("kink") != std::string::npos);
    // With the steps fixed across the kink, the test fails and says why.
    TaylorOptions across;
    across.eps0 = 1e-4;
    const TaylorResult fixed = taylor_test(f, {{"x", xt::xarray<double>{1e-5, 0.5, -0.7, 0.3}}}, across);
    INFO(to_string(fixed));
    CHECK_FALSE(fixed.passed);
    CHECK(fixed.problem.find("kink") != std::string::npos);

    const TaylorResult on = taylor_test(f, {{"x", xt::xarray<double>{0.0, 0.5, -0.7, 0.3}}});
    INFO(to_string(on));
    CHECK_FALSE(on.passed);
    CHECK(on.problem.find("kink") != std::string::npos);
    CHECK(on.problem.find("R1 falls") == std::string::npos);
}
