// The classification losses: SigmoidBCE, SoftmaxCE, Logistic, KLDiv: the spec's numbers, identities and edge cases.
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xmath.hpp>

#include "support/array_helpers.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;
using xtape::test::all_finite;
using xtape::test::column;

TEST_CASE_TEMPLATE("SigmoidBCELoss on logits: the spec's elementwise numbers", T, float, double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::xarray<T>{0, 2, -3, 1.5, 100, -100});
    const Var<T> y = tape.leaf(xt::xarray<T>{1, 1, 1, 0, 0, 1});
    const auto e = SigmoidBCELoss<T>()(x, y).value();
    const double expected[] = {0.6931472, 0.1269280, 3.0485874, 1.7014133, 100, 100};
    for (std::size_t i = 0; i < 6; ++i) CHECK(e(i) == doctest::Approx(expected[i]).epsilon(1e-6));

    const Var<T> x4 = tape.leaf(xt::xarray<T>{0, 2, -3, 1.5});
    const Var<T> y4 = tape.leaf(xt::xarray<T>{1, 1, 1, 0});
    const Var<T> p = tape.leaf(xt::xarray<T>{2});
    const auto ep = SigmoidBCELoss<T>()(x4, y4, std::nullopt, p).value();
    const double expected_p[] = {1.3862944, 0.2538560, 6.0971747, 1.7014133};
    for (std::size_t i = 0; i < 4; ++i) CHECK(ep(i) == doctest::Approx(expected_p[i]).epsilon(1e-6));
}

TEST_CASE_TEMPLATE("SigmoidBCELoss from_sigmoid: the spec's numbers, with the 1e-12 guard", T, float, double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::xarray<T>{1, 0, 0.5});
    const Var<T> y = tape.leaf(xt::xarray<T>{0, 1, 1});
    const auto e = SigmoidBCELoss<T>({.from_sigmoid = true})(x, y).value();
    CHECK(e(0) == doctest::Approx(27.6310211));  // -log(1e-12)
    CHECK(e(1) == doctest::Approx(27.6310211));
    CHECK(e(2) == doctest::Approx(0.6931472));
    // pos_weight scales the positive term only.
    const Var<T> p = tape.leaf(xt::xarray<T>{3});
    CHECK(SigmoidBCELoss<T>({.from_sigmoid = true})(x, y, std::nullopt, p).value()(2) ==
          doctest::Approx(3 * 0.6931472));
}

TEST_CASE_TEMPLATE("SigmoidBCE and Logistic: the gradient at x = 0 is exactly sigmoid(0) - y times the mean factor",
                   T, float, double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::zeros<T>({2, 3}));
    const Var<T> y = tape.constant(xt::xarray<T>{{1, 0, 1}, {0, 0, 1}});
    tape.backward(sum(SigmoidBCELoss<T>()(x, y)));
    const xt::xarray<T> expected = (T(0.5) - y.value()) / T(3);  // mean over 3 columns
    CHECK(xt::allclose(x.grad(), expected));

    Tape<T> tape2;
    const Var<T> x2 = tape2.leaf(xt::zeros<T>({2, 3}));
    const Var<T> signed_y = tape2.constant(xt::xarray<T>{{1, -1, 1}, {-1, -1, 1}});
    tape2.backward(sum(LogisticLoss<T>()(x2, signed_y)));
    CHECK(xt::allclose(x2.grad(), expected));
}

TEST_CASE_TEMPLATE("LogisticLoss binary == LogisticLoss signed on 2y-1 == SigmoidBCELoss", T, float, double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::xarray<T>{{-2, 0.5, 3}, {0.25, -1, 7}});
    const Var<T> y = tape.leaf(xt::xarray<T>{{0, 1, 1}, {0, 0, 1}});
    const Var<T> signed_y = add(mul(y, T(2)), T(-1));
    const auto binary = LogisticLoss<T>({.label_format = "binary"})(x, y).value();
    const auto signed_ = LogisticLoss<T>()(x, signed_y).value();
    const auto bce = SigmoidBCELoss<T>()(x, y).value();
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(binary(i) == doctest::Approx(signed_(i)));
        CHECK(binary(i) == doctest::Approx(bce(i)));
    }
    CHECK_THROWS_WITH_AS(LogisticLoss<T>({.label_format = "onehot"}), doctest::Contains("LogisticLoss"), ValueError);
}

TEST_CASE_TEMPLATE("SoftmaxCELoss: the spec's worked numbers", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{0, 2}, {1, 4}});
    const Var<T> label = tape.constant(xt::xarray<T>{0, 1});
    const auto out = SoftmaxCELoss<T>()(pred, label).value();
    CHECK(out(0) == doctest::Approx(2.12692809));
    CHECK(out(1) == doctest::Approx(0.04858733));
    const Var<T> sw = tape.leaf(column<T>({0.5, 1}));
    const auto weighted = SoftmaxCELoss<T>()(pred, label, sw).value();
    CHECK(weighted(0) == doctest::Approx(1.06346405));
    CHECK(weighted(1) == doctest::Approx(0.04858733));
    // A label with the class axis kept (size 1) is accepted as well.
    const Var<T> kept = tape.constant(column<T>({0, 1}));
    CHECK(SoftmaxCELoss<T>()(pred, kept).value()(0) == doctest::Approx(2.12692809));
}

TEST_CASE_TEMPLATE("SoftmaxCELoss sparse equals dense one-hot, over the mean of T for (N,T,C)", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{{0, 1, 2}, {2, 0, -1}}, {{1, 1, 1}, {3, 0, 0}}});  // (2,2,3)
    const Var<T> sparse = tape.constant(xt::xarray<T>{{2, 0}, {1, 1}});
    const Var<T> onehot = tape.leaf(xt::xarray<T>{{{0, 0, 1}, {1, 0, 0}}, {{0, 1, 0}, {0, 1, 0}}});
    const auto a = SoftmaxCELoss<T>()(pred, sparse).value();
    const auto b = SoftmaxCELoss<T>({.sparse_label = false})(pred, onehot).value();
    REQUIRE(a.shape() == Shape{2});
    for (std::size_t i = 0; i < 2; ++i) CHECK(a(i) == doctest::Approx(b(i)));
    // Sample 1: mean of -log softmax([1,1,1])[1] and -log softmax([3,0,0])[1]
    const double expected = (std::log(3.0) + (std::log(std::exp(3.0) + 2) - 0)) / 2;
    CHECK(a(1) == doctest::Approx(expected));
    // The class axis may be another one: axis 1 of the swapped layout gives the same.
    const Var<T> swapped = swapaxes(pred, 1, 2);  // (2,3,2)
    CHECK(SoftmaxCELoss<T>({.axis = 1})(swapped, sparse).value()(1) == doctest::Approx(expected));
}

TEST_CASE_TEMPLATE("SigmoidBCE(from_sigmoid)(p, y) ~ SoftmaxCE(from_logits)(log([1-p, p]), y)", T, float, double) {
    Tape<T> tape;
    const xt::xarray<T> p = {0.1, 0.35, 0.8, 0.95};
    const xt::xarray<T> y = {0, 1, 1, 0};
    const auto bce = SigmoidBCELoss<T>({.from_sigmoid = true})(tape.leaf(p), tape.leaf(y)).value();
    const xt::xarray<T> two = xt::stack(xt::xtuple(xt::log(T(1) - p), xt::log(p)), 1);
    const auto ce = SoftmaxCELoss<T>({.from_logits = true})(tape.leaf(two), tape.constant(y)).value();
    for (std::size_t i = 0; i < 4; ++i) CHECK(bce(i) == doctest::Approx(ce(i)).epsilon(1e-5));
}

TEST_CASE_TEMPLATE("SoftmaxCELoss rejects sparse labels that are not class indices, naming value and index", T,
                   float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::zeros<T>({3, 4}));
    SoftmaxCELoss<T> loss;
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<T>{0, 4, 1})),
                         doctest::Contains("SoftmaxCrossEntropyLoss: label value 4 at flat index 1"), ValueError);
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<T>{0, 1, -1})),
                         doctest::Contains("label value -1 at flat index 2"), ValueError);
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<T>{0.5, 1, 1})),
                         doctest::Contains("label value 0.5 at flat index 0"), ValueError);
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<T>{0, 1, std::nan("")})),
                         doctest::Contains("SoftmaxCrossEntropyLoss"), ValueError);
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<T>{0, 1, 2, 3})),
                         doctest::Contains("SoftmaxCrossEntropyLoss: sparse label of shape (4,) does not fit pred "
                                           "of shape (3, 4)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(SoftmaxCELoss<T>({.axis = 2})(pred, tape.constant(xt::xarray<T>{0, 1, 2})),
                         doctest::Contains("SoftmaxCrossEntropyLoss"), ShapeError);
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::zeros<T>({3})), tape.leaf(xt::ones<T>({3, 4}))),
                         doctest::Contains("sample_weight of shape (3, 4) does not broadcast to the loss of shape (3, 1)"),
                         ShapeError);
}

TEST_CASE("SoftmaxCELoss: sparse labels get no gradient, dense ones do") {
    Tape<double> tape;
    const Var<double> pred = tape.leaf(xt::xarray<double>{{0, 1, 2}});
    const Var<double> sparse = tape.leaf(xt::xarray<double>{1});
    tape.backward(sum(SoftmaxCELoss<double>()(pred, sparse)));
    CHECK_FALSE(sparse.has_grad());
    const Var<double> dense = tape.leaf(xt::xarray<double>{{0.2, 0.3, 0.5}});
    const Var<double> pred2 = tape.leaf(xt::xarray<double>{{0, 1, 2}});
    tape.backward(sum(SoftmaxCELoss<double>({.sparse_label = false})(pred2, dense)));
    REQUIRE(dense.has_grad());
    // d/dy of -sum(lp * y) is -lp
    const xt::xarray<double> lp = pred2.value() - std::log(1 + std::exp(1.0) + std::exp(2.0));
    CHECK(xt::allclose(dense.grad(), -lp));
}

TEST_CASE_TEMPLATE("KLDivLoss: the spec's mean form", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::log(xt::xarray<T>{{0.2, 0.5, 0.2, 0.1}}));
    const Var<T> label = tape.leaf(xt::xarray<T>{{0.3, 0.4, 0.1, 0.2}});
    const auto out = KLDivLoss<T>()(pred, label).value();
    REQUIRE(out.shape() == Shape{1});
    CHECK(out(0) == doctest::Approx(0.0254242).epsilon(1e-5));
    CHECK(out(0) * 4 == doctest::Approx(0.1016968).epsilon(1e-5));
}

TEST_CASE_TEMPLATE("KLDivLoss(from_logits=false)(x, onehot) == SoftmaxCELoss(dense)(x, onehot) / C", T, float,
                   double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::xarray<T>{{0.5, -1, 2, 0}, {3, 1, 1, -2}});
    const Var<T> onehot = tape.leaf(xt::xarray<T>{{0, 0, 1, 0}, {1, 0, 0, 0}});
    const auto kl = KLDivLoss<T>({.from_logits = false})(x, onehot).value();
    const auto ce = SoftmaxCELoss<T>({.sparse_label = false})(x, onehot).value();
    for (std::size_t i = 0; i < 2; ++i) CHECK(kl(i) == doctest::Approx(ce(i) / 4));
}

TEST_CASE_TEMPLATE("saturated logits (|x| = 1e4) give finite values and gradients", T, float, double) {
    const xt::xarray<T> big = {{1e4, -1e4}, {-1e4, 1e4}};
    const xt::xarray<T> y01 = {{1, 1}, {0, 0}};
    const xt::xarray<T> ypm = {{1, 1}, {-1, -1}};
    SUBCASE("SigmoidBCE, with and without pos_weight") {
        Tape<T> tape;
        const Var<T> x = tape.leaf(big);
        const Var<T> pw = tape.leaf(xt::xarray<T>{2, 0.5});
        const Var<T> out = add(SigmoidBCELoss<T>()(x, tape.leaf(y01)), SigmoidBCELoss<T>()(x, tape.leaf(y01), std::nullopt, pw));
        tape.backward(sum(out));
        CHECK(all_finite(out.value()));
        CHECK(all_finite(x.grad()));
        CHECK(all_finite(pw.grad()));
        // A logit on the wrong side costs |x| (times p on positives), averaged over 2 columns:
        // row 0: (0 + 1e4)/2 + (0 + 0.5e4)/2; row 1: (0 + 1e4)/2 twice.
        CHECK(out.value()(0) == doctest::Approx(7500));
        CHECK(out.value()(1) == doctest::Approx(10000));
    }
    SUBCASE("Logistic") {
        Tape<T> tape;
        const Var<T> x = tape.leaf(big);
        const Var<T> out = LogisticLoss<T>()(x, tape.leaf(ypm));
        tape.backward(sum(out));
        CHECK(all_finite(out.value()));
        CHECK(all_finite(x.grad()));
    }
    SUBCASE("SoftmaxCE sparse and dense, KLDiv from logits") {
        Tape<T> tape;
        const Var<T> x = tape.leaf(big);
        const Var<T> label = tape.leaf(xt::xarray<T>{{0, 1}, {0, 1}});
        const Var<T> out = add(add(SoftmaxCELoss<T>()(x, tape.constant(xt::xarray<T>{1, 0})),
                                   SoftmaxCELoss<T>({.sparse_label = false})(x, label)),
                               KLDivLoss<T>({.from_logits = false})(x, label));
        tape.backward(sum(out));
        CHECK(all_finite(out.value()));
        CHECK(all_finite(x.grad()));
        CHECK(all_finite(label.grad()));
    }
}

TEST_CASE_TEMPLATE("KLDivLoss with zero labels is finite in value and gradient", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::log(xt::xarray<T>{{0.2, 0.5, 0.2, 0.1}}));
    const Var<T> label = tape.leaf(xt::xarray<T>{{0, 1, 0, 0}});
    const Var<T> out = KLDivLoss<T>()(pred, label);
    tape.backward(sum(out));
    CHECK(out.value()(0) == doctest::Approx(-std::log(0.5) / 4).epsilon(1e-5));
    CHECK(all_finite(pred.grad()));
    CHECK(all_finite(label.grad()));
}

TEST_CASE_TEMPLATE("pos_weight must broadcast to pred", T, float, double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::zeros<T>({2, 3}));
    const Var<T> y = tape.leaf(xt::zeros<T>({2, 3}));
    CHECK_NOTHROW(SigmoidBCELoss<T>()(x, y, std::nullopt, tape.leaf(xt::ones<T>({3}))));
    CHECK_THROWS_WITH_AS(SigmoidBCELoss<T>()(x, y, std::nullopt, tape.leaf(xt::ones<T>({2}))),
                         doctest::Contains("SigmoidBinaryCrossEntropyLoss: pos_weight of shape (2,)"), ShapeError);
}
