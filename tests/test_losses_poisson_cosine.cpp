// PoissonNLLLoss and CosineEmbeddingLoss: the spec's numbers, the Stirling mask, zero vectors and bad labels.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include <xtensor/xmath.hpp>

#include "support/array_helpers.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;
using xtape::test::all_finite;
using xtape::test::column;

namespace {

// The loss of a single element, so the mean over every element is that element's e.
template <class T>
double poisson_one(const PoissonNLLLossOptions& options, double x, double t) {
    Tape<T> tape;
    const Var<T> out = PoissonNLLLoss<T>(options)(tape.leaf(xt::xarray<T>{T(x)}), tape.leaf(xt::xarray<T>{T(t)}));
    REQUIRE(out.shape() == Shape{1});
    return static_cast<double>(out.value()(0));
}
}  // namespace

TEST_CASE_TEMPLATE("PoissonNLLLoss: the spec's elementwise numbers and Stirling terms", T, float, double) {
    CHECK(poisson_one<T>({}, 0.5, 2) == doctest::Approx(0.6487213));
    CHECK(poisson_one<T>({.from_logits = false}, 2, 3) == doctest::Approx(-0.0794416));
    const double stirling3 = poisson_one<T>({.compute_full = true}, 0.5, 3) - poisson_one<T>({}, 0.5, 3);
    const double stirling2 = poisson_one<T>({.compute_full = true}, 0.5, 2) - poisson_one<T>({}, 0.5, 2);
    CHECK(stirling3 == doctest::Approx(1.7640815).epsilon(1e-5));
    CHECK(stirling2 == doctest::Approx(0.6518065).epsilon(1e-5));
}

TEST_CASE_TEMPLATE("PoissonNLLLoss: no Stirling term for targets <= 1, finite gradients at target 0", T, float,
                   double) {
    for (double t : {0.0, 0.5, 1.0}) {
        CHECK(poisson_one<T>({.compute_full = true}, 0.3, t) == doctest::Approx(poisson_one<T>({}, 0.3, t)));
        CHECK(poisson_one<T>({.from_logits = false, .compute_full = true}, 0.7, t) ==
              doctest::Approx(poisson_one<T>({.from_logits = false}, 0.7, t)));
    }
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::xarray<T>{{0.5, 2}, {1, 3}});
    const Var<T> t = tape.leaf(xt::xarray<T>{{0, 0}, {1, 4}});
    const Var<T> out = add(PoissonNLLLoss<T>({.compute_full = true})(x, t),
                           PoissonNLLLoss<T>({.from_logits = false, .compute_full = true})(x, t));
    tape.backward(sum(out));
    CHECK(all_finite(out.value()));
    CHECK(all_finite(x.grad()));
    CHECK(all_finite(t.grad()));
    // Where t > 1 the Stirling term adds log(t) + 1/(2t) to d/dt, twice (two losses), over 4 elements.
    const double dt = (-3 + -std::log(3 + 1e-8) + 2 * (std::log(4.0) + 1 / 8.0)) / 4;
    CHECK(t.grad()(1, 1) == doctest::Approx(dt).epsilon(1e-5));
}

TEST_CASE_TEMPLATE("PoissonNLLLoss averages over every element and sample_weight scales elements", T, float, double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::zeros<T>({2, 3}));
    const Var<T> t = tape.leaf(xt::zeros<T>({2, 3}));  // e = exp(0) = 1 everywhere
    const Var<T> sw = tape.leaf(column<T>({1, 3}));
    const Var<T> out = PoissonNLLLoss<T>({.weight = 0.5})(x, t, sw);
    REQUIRE(out.shape() == Shape{1});
    CHECK(out.value()(0) == doctest::Approx(0.5 * (3 * 1 + 3 * 3) / 6.0));
    CHECK_THROWS_WITH_AS(PoissonNLLLoss<T>()(x, tape.leaf(xt::zeros<T>({5}))),
                         doctest::Contains("PoissonNLLLoss: target of shape (5,)"), ShapeError);
}

TEST_CASE_TEMPLATE("CosineEmbeddingLoss: the spec's cosines", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(xt::xarray<T>{{1, 2}, {0, 0}});
    const Var<T> b = tape.leaf(xt::xarray<T>{{2, 1}, {1, 1}});
    const auto similar = CosineEmbeddingLoss<T>()(a, b, tape.constant(xt::xarray<T>{1, 1})).value();
    CHECK(similar(0) == doctest::Approx(1 - 0.8));
    CHECK(similar(1) == doctest::Approx(1));  // cos = 0 by the 1e-12 floor
    const auto dissimilar = CosineEmbeddingLoss<T>()(a, b, tape.constant(xt::xarray<T>{-1, -1})).value();
    CHECK(dissimilar(0) == doctest::Approx(0.8));
    CHECK(dissimilar(1) == doctest::Approx(0));
    const auto margin = CosineEmbeddingLoss<T>({.margin = 0.5})(a, b, tape.constant(xt::xarray<T>{-1, -1})).value();
    CHECK(margin(0) == doctest::Approx(0.3));
}

TEST_CASE_TEMPLATE("CosineEmbeddingLoss: zero vectors give finite values and gradients", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(xt::xarray<T>{{0, 0, 0}, {0, 0, 0}, {1, 2, 3}});
    const Var<T> b = tape.leaf(xt::xarray<T>{{1, 1, 1}, {0, 0, 0}, {0, 0, 0}});
    const Var<T> out = add(CosineEmbeddingLoss<T>()(a, b, tape.constant(xt::xarray<T>{1, -1, 1})),
                           CosineEmbeddingLoss<T>()(a, b, tape.constant(xt::xarray<T>{-1, 1, -1})));
    tape.backward(sum(out));
    CHECK(all_finite(out.value()));
    CHECK(all_finite(a.grad()));
    CHECK(all_finite(b.grad()));
}

TEST_CASE_TEMPLATE("CosineEmbeddingLoss: (N,T,D) inputs give (N,) and labels must be +-1", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(xt::ones<T>({2, 3, 4}));
    const Var<T> b = tape.leaf(xt::ones<T>({2, 3, 4}));
    const Var<T> out = CosineEmbeddingLoss<T>()(a, b, tape.constant(xt::ones<T>({2, 3})));
    CHECK(out.shape() == Shape{2});
    CHECK(out.value()(0) == doctest::Approx(0).scale(1));
    CHECK_THROWS_WITH_AS(CosineEmbeddingLoss<T>()(a, b, tape.constant(xt::xarray<T>{{1, 1, 0}, {1, 1, 1}})),
                         doctest::Contains("CosineEmbeddingLoss: label value 0 at flat index 2"), ValueError);
    CHECK_THROWS_WITH_AS(CosineEmbeddingLoss<T>()(a, b, tape.constant(xt::ones<T>({2}))),
                         doctest::Contains("CosineEmbeddingLoss: label of shape (2,)"), ShapeError);
    CHECK_THROWS_WITH_AS(CosineEmbeddingLoss<T>()(tape.leaf(xt::ones<T>({2, 4})), b, tape.constant(xt::ones<T>({2, 3}))),
                         doctest::Contains("CosineEmbeddingLoss: input1 of shape (2, 4)"), ShapeError);
    CHECK_THROWS_WITH_AS(CosineEmbeddingLoss<T>()(tape.leaf(xt::ones<T>({4})), tape.leaf(xt::ones<T>({4})),
                                                  tape.constant(xt::ones<T>({1}))),
                         doctest::Contains("CosineEmbeddingLoss: input2 of shape (4,)"), ShapeError);
}
