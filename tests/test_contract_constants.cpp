// The constants of docs/gluon-losses.md, each pinned by a test that fails when
// it changes: KLDivLoss's 1e-12 in log(label + 1e-12) and CosineEmbeddingLoss's
// 1e-12 floor of |a| |b| here; SigmoidBCE's 1e-12 (from_sigmoid: 27.6310211 at
// probabilities 0 and 1) in test_losses_classification.cpp; the Stirling
// threshold t > 1 (none at t = 1, the spec's term at t = 2) and PoissonNLL's
// epsilon default (with every default, test_losses_registry.cpp) in
// test_losses_poisson_cosine.cpp.
#include <doctest/doctest.h>

#include <cmath>

#include "xtape/xtape.hpp"

using namespace xtape;

TEST_CASE_TEMPLATE("KLDivLoss: a label of 0 reads log(0 + 1e-12) in its gradient", T, float, double) {
    // d/dy y (log(y + 1e-12) - lp) = log(y + 1e-12) + y / (y + 1e-12) - lp: at
    // y = 0 it is log(1e-12) - lp, averaged over the C = 4 classes. The value
    // hides the constant there (0 * log), the gradient shows it.
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{std::log(T(0.25)), std::log(T(0.25)), std::log(T(0.25)),
                                                 std::log(T(0.25))}});
    const Var<T> label = tape.leaf(xt::xarray<T>{{0, 0.5, 0.25, 0.25}});
    tape.backward(sum(KLDivLoss<T>()(pred, label)));
    const double expected = (std::log(1e-12) - std::log(0.25)) / 4;
    CHECK(label.grad()(0, 0) == doctest::Approx(expected).epsilon(1e-6));
}

TEST_CASE("CosineEmbeddingLoss: a zero vector's gradient is the other over the 1e-12 floor") {
    // |a| |b| = 0 < 1e-12, so cos = sum(a b) / 1e-12 and d(1 - cos)/da = -b / 1e-12.
    Tape<double> tape;
    const Var<double> a = tape.leaf(xt::xarray<double>{{0, 0}});
    const Var<double> b = tape.leaf(xt::xarray<double>{{1, 2}});
    const Var<double> loss = CosineEmbeddingLoss<double>()(a, b, tape.constant(xt::xarray<double>{1}));
    tape.backward(sum(loss));
    CHECK(loss.value()(0) == 1);
    CHECK(a.grad()(0, 0) == doctest::Approx(-1e12).epsilon(1e-12));
    CHECK(a.grad()(0, 1) == doctest::Approx(-2e12).epsilon(1e-12));
}
