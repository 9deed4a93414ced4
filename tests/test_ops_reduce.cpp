// Reductions: forward against xtensor over sets of axes with keepdims, gradients,
// float against double, max's ties, logsumexp's stability, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

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
// callable (xt::xarray<T>, std::vector<std::size_t> axes) -> the reduced values,
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
