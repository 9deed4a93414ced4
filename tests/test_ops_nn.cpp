// NN ops: log_softmax and softmax (against xtensor, stable at 1e4), matmul
// (against xtensor-blas, batched), gradients, float against double, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xview.hpp>

#include "support/op_checks.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

struct AxisCase {
    Shape shape;
    std::ptrdiff_t axis;
    std::size_t normalized;
};

// Rows of a matrix, the middle axis of a 3-D array, a vector and a 1-element array.
const std::vector<AxisCase> axis_cases = {{{3, 4}, -1, 1}, {{2, 3, 4}, 1, 1}, {{5}, 0, 0}, {{1}, 0, 0}};

// log(sum(exp(x))) along `axis`, kept: the textbook formula (fine for moderate x).
template <class T>
xt::xarray<T> naive_logsumexp(const xt::xarray<T>& x, std::size_t axis) {
    xt::xarray<T> total = xt::sum(xt::exp(x), {axis}, xt::keep_dims);
    return xt::log(total);
}

// Checks a softmax-like op(Var, axis) against `reference(x, axis)` on every
// axis case, then its gradient and float against double, also when its output
// is broadcast against another input.
template <class Op, class Reference>
void check_along_axis(Op op, Reference reference) {
    std::uint64_t seed = 1;
    for (const auto& [shape, axis, normalized] : axis_cases) {
        CAPTURE(to_string(shape));
        const auto x = random_array(shape, seed++, -3, 3);
        auto forward = [&]<class T>(Tape<T>& tape) {
            const xt::xarray<T> xt_ = as<T>(x);
            check_close<T>(op(tape.leaf(xt_), axis).value(), reference(xt_, normalized), 10 * forward_rtol<T>,
                           10 * forward_rtol<T>);
        };
        Tape<float> tf;
        Tape<double> td;
        forward(tf);
        forward(td);
        check_op([&](auto&, const auto& v) { return op(v[0], axis); }, {x});
    }
    check_op([&](auto&, const auto& v) { return op(v[0], 0) * v[1]; }, {random_array({3, 2}, 50), random_array({2}, 51)});
}

}  // namespace

TEST_CASE("log_softmax matches x - log(sum(exp(x))) along the axis") {
    check_along_axis([](auto a, std::ptrdiff_t axis) { return log_softmax(a, axis); },
                     [](const auto& x, std::size_t axis) -> std::decay_t<decltype(x)> {
                         return x - naive_logsumexp(x, axis);
                     });
}

TEST_CASE("softmax matches exp(x) / sum(exp(x)) along the axis") {
    check_along_axis([](auto a, std::ptrdiff_t axis) { return softmax(a, axis); },
                     [](const auto& x, std::size_t axis) -> std::decay_t<decltype(x)> {
                         // The sum materialised first: xtensor 0.24 broadcasts a lazy
                         // keep_dims reducer wrongly inside an expression.
                         const std::decay_t<decltype(x)> total = xt::sum(xt::exp(x), {axis}, xt::keep_dims);
                         return xt::exp(x) / total;
                     });
}

TEST_CASE_TEMPLATE("log_softmax and softmax are stable and exact at 1e4", T, float, double) {
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{{T(1e4), 0, T(-1e4)}, {T(1e4), T(1e4), T(-1e4)}});
    auto lp = log_softmax(x, 1);
    CHECK(lp.value()(0, 0) == 0);
    CHECK(lp.value()(0, 1) == T(-1e4));
    CHECK(lp.value()(0, 2) == T(-2e4));
    CHECK(lp.value()(1, 0) == doctest::Approx(-std::log(2.0)));
    // Gradient of lp[0, 1] + lp[1, 2]: one-hot minus softmax, per row.
    tape.backward(lp, xt::xarray<T>{{0, 1, 0}, {0, 0, 1}});
    check_close<T>(x.grad(), xt::xarray<T>{{-1, 1, 0}, {T(-0.5), T(-0.5), 1}}, forward_rtol<T>);

    tape.zero_grad();
    auto p = softmax(x, -1);
    check_close<T>(p.value(), xt::xarray<T>{{1, 0, 0}, {T(0.5), T(0.5), 0}}, forward_rtol<T>);
    tape.backward(p, xt::xarray<T>{{1, 0, 0}, {1, 0, 0}});
    check_close<T>(x.grad(), xt::xarray<T>{{0, 0, 0}, {T(0.25), T(-0.25), 0}}, forward_rtol<T>);
}

TEST_CASE("log_softmax and softmax agree in float and double on saturated logits") {
    const xt::xarray<double> x{{1e4, 1, -1e4, 0.5}, {-3e3, -3e3 + 1, 2, 0}};
    check_float_agrees([](auto&, const auto& v) { return log_softmax(v[0], -1); }, {x});
    check_float_agrees([](auto&, const auto& v) { return softmax(v[0], -1); }, {x});
}

TEST_CASE_TEMPLATE("softmax of a -inf logit is 0 with a finite gradient", T, float, double) {
    const T inf = std::numeric_limits<T>::infinity();
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{0, -inf, 0});
    auto p = softmax(x);
    CHECK(p.value() == xt::xarray<T>{T(0.5), 0, T(0.5)});
    tape.backward(p, xt::xarray<T>{1, 0, 0});
    check_close<T>(x.grad(), xt::xarray<T>{T(0.25), 0, T(-0.25)}, forward_rtol<T>);
}

TEST_CASE("log_softmax and softmax name the op and the axis that is out of range") {
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({2, 3}));
    CHECK_THROWS_WITH_AS(log_softmax(x, 2), "log_softmax: axis 2 is out of range for an array of rank 2", ShapeError);
    CHECK_THROWS_WITH_AS(softmax(x, -3), "softmax: axis -3 is out of range for an array of rank 2", ShapeError);
    auto s = tape.leaf(xt::zeros<double>(Shape{}));
    CHECK_THROWS_WITH_AS(log_softmax(s), doctest::Contains("rank 0"), ShapeError);
}

// ---- matmul ---------------------------------------------------------------------------

TEST_CASE("matmul of matrices matches xtensor-blas") {
    // Besides matrices: a column (n = 1) and a row (m = 1) product, which run
    // as matrix-vector products, forward and backward.
    for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
             {{2, 3}, {3, 4}}, {{1, 1}, {1, 1}}, {{4, 1}, {1, 3}}, {{3, 4}, {4, 1}}, {{1, 4}, {4, 3}}}) {
        CAPTURE(to_string(sa));
        CAPTURE(to_string(sb));
        const auto a = random_array(sa, 60), b = random_array(sb, 61);
        // Summed in another order (gemv or gemm against xtensor-blas's choice),
        // an entry may differ by a few ulps of the sum of its terms' magnitudes:
        // more than of the entry itself where the terms cancel.
        const xt::xarray<double> magnitudes = xt::linalg::dot(xt::abs(a), xt::abs(b));
        auto forward = [&]<class T>(Tape<T>& tape) {
            const xt::xarray<T> at = as<T>(a), bt = as<T>(b);
            check_close<T>(matmul(tape.leaf(at), tape.leaf(bt)).value(), xt::linalg::dot(at, bt), 0,
                           forward_rtol<T> * xt::amax(magnitudes)());
        };
        Tape<float> tf;
        Tape<double> td;
        forward(tf);
        forward(td);
        check_op([](auto&, const auto& v) { return matmul(v[0], v[1]); }, {a, b});
    }
    // Its output broadcast against a bias, as in a dense layer.
    check_op([](auto&, const auto& v) { return matmul(v[0], v[1]) + v[2]; },
             {random_array({3, 2}, 62), random_array({2, 4}, 63), random_array({4}, 64)});
}

TEST_CASE("batched matmul multiplies matrix by matrix along the batch axes") {
    // Matrices, and columns and rows (matrix-vector products, one per batch entry).
    for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
             {{2, 3, 2, 4}, {2, 3, 4, 5}}, {{2, 3, 2, 4}, {2, 3, 4, 1}}, {{2, 3, 1, 4}, {2, 3, 4, 5}}}) {
        CAPTURE(to_string(sa));
        CAPTURE(to_string(sb));
        const auto a = random_array(sa, 65), b = random_array(sb, 66);
        const std::size_t m = sa[2], n = sb[3];
        xt::xarray<double> want = xt::empty<double>(Shape{2, 3, m, n});
        for (std::size_t i = 0; i < 2; ++i) {
            for (std::size_t j = 0; j < 3; ++j) {
                xt::xarray<double> ai = xt::view(a, i, j), bi = xt::view(b, i, j);
                xt::xarray<double> product = xt::linalg::dot(ai, bi);
                for (std::size_t r = 0; r < m; ++r) {
                    for (std::size_t c = 0; c < n; ++c) want(i, j, r, c) = product(r, c);
                }
            }
        }
        Tape<double> tape;
        check_close<double>(matmul(tape.leaf(a), tape.leaf(b)).value(), want, 1e-14);
        check_op([](auto&, const auto& v) { return matmul(v[0], v[1]); }, {a, b});
    }
    check_op([](auto&, const auto& v) { return matmul(v[0], v[1]); }, {random_array({1, 1, 1}, 67), random_array({1, 1, 1}, 68)});
}

TEST_CASE_TEMPLATE("matmul with an empty inner axis gives zeros", T, float, double) {
    Tape<T> tape;
    auto a = tape.leaf(xt::zeros<T>({3, 0}));
    auto b = tape.leaf(xt::zeros<T>({0, 2}));
    auto y = matmul(a, b);
    CHECK(y.value() == xt::zeros<T>({3, 2}));
    tape.backward(sum(y));
    CHECK(a.grad().shape() == Shape{3, 0});
    CHECK(matmul(tape.leaf(xt::zeros<T>({2, 2, 0})), tape.leaf(xt::zeros<T>({2, 0, 1}))).value() ==
          xt::zeros<T>({2, 2, 1}));
}

TEST_CASE("matmul names the op and both shapes when they do not multiply") {
    Tape<double> tape;
    auto leaf = [&](Shape s) { return tape.leaf(xt::zeros<double>(s)); };
    CHECK_THROWS_WITH_AS(matmul(leaf({2, 3}), leaf({4, 2})),
                         "matmul: a of shape (2, 3) and b of shape (4, 2) do not multiply; need (m, k) x (k, n), or "
                         "(..., m, k) x (..., k, n) with equal batch shapes",
                         ShapeError);
    CHECK_THROWS_WITH_AS(matmul(leaf({3}), leaf({3, 1})), doctest::Contains("matmul: a of shape (3,) and b of shape (3, 1)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(matmul(leaf({2, 3, 4}), leaf({3, 4, 5})), doctest::Contains("(2, 3, 4) and b of shape (3, 4, 5)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(matmul(leaf({2, 3, 4}), leaf({4, 5})), doctest::Contains("matmul"), ShapeError);
}

TEST_CASE("layer_norm: (a - mean) / sqrt(variance + eps) over the given axes, with its gradient") {
    for (const auto& [shape, axes] : {std::pair{Shape{5}, Axes{-1}}, std::pair{Shape{3, 4}, Axes{-1}},
                                      std::pair{Shape{2, 3, 4}, Axes{1, 2}}}) {
        CAPTURE(to_string(shape));
        const auto x = random_array(shape, 17, -2, 2);
        Tape<double> tape;
        const auto y = layer_norm(tape.leaf(x), axes, 1e-3);
        const auto ax = normalize_axes(axes, shape.size(), "test");
        Shape kept = shape;
        for (std::size_t a : ax) kept[a] = 1;
        // Materialised step by step (xt::variance of xtensor 0.24 reads out of bounds here).
        xt::xarray<double> mu = xt::mean(x, ax);
        mu.reshape(kept);
        const xt::xarray<double> squares = xt::square(x - mu);
        xt::xarray<double> var = xt::mean(squares, ax);
        var.reshape(kept);
        check_close<double>(y.value(), xt::xarray<double>((x - mu) / xt::sqrt(var + 1e-3)), 1e-13);
        check_op([&](auto&, const auto& v) { return layer_norm(v[0], axes, 1e-3); }, {x});
    }
    Tape<double> tape;
    CHECK_THROWS_WITH_AS(layer_norm(tape.leaf(xt::zeros<double>({2, 3})), {-1}, -1.0),
                         "layer_norm: eps must be finite and not negative, got -1", ValueError);
    CHECK_THROWS_WITH_AS(layer_norm(tape.leaf(xt::zeros<double>({2, 3})), {2}),
                         "layer_norm: axis 2 is out of range for an array of rank 2", ShapeError);
}

TEST_CASE_TEMPLATE("dropout: zeros about p of the elements, scales the rest by 1/(1-p), and only while training", T,
                   float, double) {
    Tape<T> tape;
    const auto x = tape.leaf(xt::xarray<T>(xt::ones<T>({100, 100})));
    Rng rng(3);
    const auto y = dropout(x, 0.3, rng, true);
    std::size_t dropped = 0;
    for (T v : y.value()) {
        if (v == T(0)) ++dropped;
        else CHECK(v == static_cast<T>(1 / 0.7));
    }
    // 10000 draws of p = 0.3: the count's standard deviation is about 46.
    CHECK(dropped > 2800);
    CHECK(dropped < 3200);
    // The gradient is the mask itself.
    tape.backward(sum(y));
    CHECK(x.grad() == y.value());
    // The same seed gives the same mask; evaluation and p = 0 give x itself.
    Rng again(3);
    CHECK(dropout(x, 0.3, again, true).value() == y.value());
    CHECK(dropout(x, 0.3, rng, false).index() == x.index());
    CHECK(dropout(x, 0.0, rng, true).index() == x.index());
    CHECK_THROWS_WITH_AS(dropout(x, 1.0, rng, true), "dropout: p must be in [0, 1), got 1", ValueError);
    CHECK_THROWS_WITH_AS(dropout(x, -0.1, rng, true), "dropout: p must be in [0, 1), got -0.1", ValueError);
}
