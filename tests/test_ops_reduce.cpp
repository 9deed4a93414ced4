// Reductions: forward against xtensor over sets of axes with keepdims, gradients,
// float against double, max's ties, logsumexp's stability, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include "support/op_checks.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

struct ReductionCase {
    Shape shape;
    Axes axes;
};

// Every axis of a 3-D array, one axis, two axes, a negative axis, a vector, a
// 0-d array and a 1-element array.
const std::vector<ReductionCase> reduction_cases = {
    {{2, 3, 4}, {}}, {{2, 3, 4}, {1}}, {{2, 3, 4}, {2, 0}}, {{2, 3, 4}, {-1}},
    {{5}, {0}},      {{}, {}},         {{1}, {}},
};

// The output shape NumPy gives: reduced axes dropped, or kept as size 1.
Shape reduced_shape(const Shape& in, const Axes& axes, bool keepdims) {
    const auto reduced = normalize_axes(axes, in.size(), "test");
    Shape out;
    for (std::size_t d = 0; d < in.size(); ++d) {
        const bool is_reduced = std::find(reduced.begin(), reduced.end(), d) != reduced.end();
        if (!is_reduced) out.push_back(in[d]);
        else if (keepdims) out.push_back(1);
    }
    return out;
}

// Checks a reduction op(Var, Axes, keepdims) against `reference`, a generic
// callable (xt::xarray<T>, AxisList axes) -> the reduced values,
// in float and double, with its gradient and float against double, for every
// case and both keepdims.
template <class Op, class Reference>
void check_reduction(Op op, Reference reference) {
    std::uint64_t seed = 1;
    for (const auto& [shape, axes] : reduction_cases) {
        for (bool keepdims : {false, true}) {
            CAPTURE(to_string(shape));
            CAPTURE(axes.size());
            CAPTURE(keepdims);
            const auto x = random_array(shape, seed++, -2, 2);
            const auto normalized = normalize_axes(axes, shape.size(), "test");
            auto forward = [&]<class T>(Tape<T>& tape) {
                const xt::xarray<T> xt_ = as<T>(x);
                xt::xarray<T> want = reference(xt_, normalized);
                want.reshape(reduced_shape(shape, axes, keepdims));
                check_close<T>(op(tape.leaf(xt_), axes, keepdims).value(), want, 10 * forward_rtol<T>);
            };
            Tape<float> tf;
            Tape<double> td;
            forward(tf);
            forward(td);
            check_op([&](auto&, const auto& v) { return op(v[0], axes, keepdims); }, {x});
        }
    }
    // The reduced value broadcast back over its input: x - op(x, axis 1, keepdims).
    check_op([&](auto&, const auto& v) { return v[0] - op(v[0], Axes{1}, true); }, {random_array({3, 4}, 99)});
}

// The population variance over `axes`, materialised step by step (xt::variance
// of xtensor 0.24 reads out of bounds on some of these shapes).
template <class T>
xt::xarray<T> variance_of(const xt::xarray<T>& x, const AxisList& axes) {
    Shape kept = x.shape();
    for (std::size_t axis : axes) kept[axis] = 1;
    xt::xarray<T> mu = xt::mean(x, axes);
    mu.reshape(kept);
    const xt::xarray<T> squares = xt::square(x - mu);
    return xt::mean(squares, axes);
}

}  // namespace

TEST_CASE("sum over any set of axes") {
    check_reduction([](auto a, const Axes& axes, bool keep) { return sum(a, axes, keep); },
                    [](const auto& x, const auto& axes) { return xt::sum(x, axes); });
}

TEST_CASE("mean over any set of axes") {
    check_reduction([](auto a, const Axes& axes, bool keep) { return mean(a, axes, keep); },
                    [](const auto& x, const auto& axes) { return xt::mean(x, axes); });
}

TEST_CASE("max over any set of axes") {
    check_reduction([](auto a, const Axes& axes, bool keep) { return max(a, axes, keep); },
                    [](const auto& x, const auto& axes) { return xt::amax(x, axes); });
}

TEST_CASE("logsumexp over any set of axes") {
    check_reduction([](auto a, const Axes& axes, bool keep) { return logsumexp(a, axes, keep); },
                    [](const auto& x, const auto& axes) { return xt::log(xt::sum(xt::exp(x), axes)); });
}

TEST_CASE_TEMPLATE("max sends the gradient to the first maximal element of each slice", T, float, double) {
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{{1, 3, 3, 2}, {5, 0, 5, 5}});
    tape.backward(sum(max(x, {1})));
    CHECK(x.grad() == xt::xarray<T>{{0, 1, 0, 0}, {1, 0, 0, 0}});
    tape.zero_grad();
    tape.backward(sum(max(x, {0})));  // column 2 ties (3 < 5), column 3 does not
    CHECK(x.grad() == xt::xarray<T>{{0, 1, 0, 0}, {1, 0, 1, 1}});
    tape.zero_grad();
    tape.backward(max(x));  // 5 occurs three times; the first in row-major order wins
    CHECK(x.grad() == xt::xarray<T>{{0, 0, 0, 0}, {1, 0, 0, 0}});
}

TEST_CASE_TEMPLATE("logsumexp is stable at 1e4 and gives -inf with zero gradient for an all -inf slice", T, float,
                   double) {
    const T inf = std::numeric_limits<T>::infinity();
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{{T(1e4), T(1e4)}, {-inf, -inf}, {T(-1e4), 0}});
    auto y = logsumexp(x, {1});
    tape.backward(sum(y));
    CHECK(y.value()(0) == doctest::Approx(1e4 + std::log(2.0)));
    CHECK(y.value()(1) == -inf);
    CHECK(y.value()(2) == T(0));
    check_close<T>(x.grad(), xt::xarray<T>{{T(0.5), T(0.5)}, {0, 0}, {0, 1}}, forward_rtol<T>);
}

TEST_CASE("reductions name the op, the axis and the shape of bad axes") {
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({2, 3}));
    CHECK_THROWS_WITH_AS(sum(x, {2}), "sum: axis 2 is out of range for an array of rank 2", ShapeError);
    CHECK_THROWS_WITH_AS(mean(x, {-3}), "mean: axis -3 is out of range for an array of rank 2", ShapeError);
    CHECK_THROWS_WITH_AS(max(x, {0, -2}), "max: repeated axis in (0, -2)", ShapeError);
    CHECK_THROWS_WITH_AS(logsumexp(x, {5}), doctest::Contains("logsumexp: axis 5"), ShapeError);
    auto empty = tape.leaf(xt::zeros<double>({2, 0}));
    CHECK_THROWS_WITH_AS(mean(empty, {1}), "mean: cannot reduce axis 1 of size 0 (input shape (2, 0))", ShapeError);
    CHECK_THROWS_WITH_AS(max(empty), doctest::Contains("max: cannot reduce axis 1 of size 0"), ShapeError);
    CHECK_THROWS_WITH_AS(logsumexp(empty, {1}), doctest::Contains("logsumexp"), ShapeError);
    // A sum over an empty axis is an empty sum, 0, as in NumPy.
    CHECK(sum(empty, {1}).value() == xt::xarray<double>{0, 0});
}

TEST_CASE("min over any set of axes") {
    check_reduction([](auto a, const Axes& axes, bool keep) { return min(a, axes, keep); },
                    [](const auto& x, const auto& axes) { return xt::amin(x, axes); });
}

TEST_CASE("prod over any set of axes") {
    check_reduction([](auto a, const Axes& axes, bool keep) { return prod(a, axes, keep); },
                    [](const auto& x, const auto& axes) { return xt::prod(x, axes); });
}

TEST_CASE("variance over any set of axes, with ddof 0 and 1") {
    check_reduction([](auto a, const Axes& axes, bool keep) { return variance(a, axes, keep); },
                    [](const auto& x, const auto& axes) { return variance_of(x, axes); });
    // ddof = 1 over slices of at least two elements: sum of squares / (n - 1).
    for (const Axes& axes : {Axes{}, Axes{1}, Axes{2, 0}}) {
        const auto x = random_array({2, 3, 4}, 11, -2, 2);
        Tape<double> tape;
        const auto n = static_cast<double>(x.size() / element_count(reduced_shape({2, 3, 4}, axes, false)));
        const xt::xarray<double> want = variance_of(x, normalize_axes(axes, 3, "test")) * n / (n - 1);
        check_close<double>(variance(tape.leaf(x), axes, false, 1).value(), want, 1e-13);
        check_op([&](auto&, const auto& v) { return variance(v[0], axes, false, 1); }, {x});
    }
}

TEST_CASE("stddev is the square root of the variance, gradient included") {
    for (const Shape& shape : {Shape{7}, Shape{3, 4}, Shape{2, 3, 4}}) {
        const auto x = random_array(shape, 21, -2, 2);
        Tape<double> tape;
        const auto s = stddev(tape.leaf(x), {-1}, true, 1);
        check_close<double>(s.value(), xt::xarray<double>(xt::sqrt(variance(tape.leaf(x), {-1}, true, 1).value())), 1e-15);
        check_op([&](auto&, const auto& v) { return stddev(v[0], Axes{-1}, false, 1); }, {x});
    }
}

TEST_CASE("norm for p = 1, 2, 3 and infinity over any set of axes") {
    for (double p : {1.0, 2.0, 3.0, std::numeric_limits<double>::infinity()}) {
        CAPTURE(p);
        check_reduction([p](auto a, const Axes& axes, bool keep) { return norm(a, p, axes, keep); },
                        [p](const auto& x, const auto& axes) {
                            using T = typename std::decay_t<decltype(x)>::value_type;
                            if (std::isinf(p)) return xt::xarray<T>(xt::amax(xt::abs(x), axes));
                            return xt::xarray<T>(xt::pow(xt::sum(xt::pow(xt::abs(x), T(p)), axes), T(1 / p)));
                        });
    }
}

TEST_CASE_TEMPLATE("prod's gradient is the product of the others, exact with one zero or two", T, float, double) {
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{{2, 3, 4}, {2, 0, 5}, {0, 7, 0}});
    auto p = prod(x, {1});
    CHECK(p.value() == xt::xarray<T>{24, 0, 0});
    tape.backward(sum(p));
    CHECK(x.grad() == xt::xarray<T>{{12, 8, 6}, {0, 10, 0}, {0, 0, 0}});
}

TEST_CASE_TEMPLATE("min sends the gradient to the first minimal element of each slice", T, float, double) {
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{{3, 1, 1, 2}, {0, 5, 0, 0}});
    tape.backward(sum(min(x, {1})));
    CHECK(x.grad() == xt::xarray<T>{{0, 1, 0, 0}, {1, 0, 0, 0}});
}

TEST_CASE_TEMPLATE("norm of a zero slice is 0 with gradient 0, and NaN stays NaN", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (double p : {2.0, 3.0}) {
        Tape<T> tape;
        auto x = tape.leaf(xt::xarray<T>{{0, 0, 0}, {3, 4, 0}, {1, nan, 2}});
        auto n = norm(x, p, {1});
        tape.backward(sum(n));
        CHECK(n.value()(0) == T(0));
        CHECK(std::isnan(n.value()(2)));
        CHECK(xt::view(x.grad(), 0) == xt::xarray<T>{0, 0, 0});
        if (p == 2) check_close<T>(xt::xarray<T>(xt::view(x.grad(), 1)), xt::xarray<T>{T(0.6), T(0.8), 0},
                                   forward_rtol<T>);
    }
}

TEST_CASE("variance, stddev and norm name the op and the argument at fault") {
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({2, 3}));
    CHECK_THROWS_WITH_AS(variance(x, {1}, false, 3),
                         "variance: ddof 3 leaves no degrees of freedom in slices of 3 elements (input shape (2, 3))",
                         ValueError);
    CHECK_THROWS_WITH_AS(stddev(x, {}, false, 6), doctest::Contains("stddev: ddof 6"), ValueError);
    CHECK_THROWS_WITH_AS(norm(x, 0.5), "norm: p must be at least 1 (or infinity), got 0.5", ValueError);
    CHECK_THROWS_WITH_AS(norm(x, std::nan("")), doctest::Contains("norm: p must be at least 1"), ValueError);
    CHECK_THROWS_WITH_AS(min(x, {2}), "min: axis 2 is out of range for an array of rank 2", ShapeError);
    CHECK_THROWS_WITH_AS(norm(x, 2, {3}), "norm: axis 3 is out of range for an array of rank 2", ShapeError);
    CHECK_THROWS_WITH_AS(prod(x, {-3}), "prod: axis -3 is out of range for an array of rank 2", ShapeError);
}
