// The regression-style losses: L1, L2, Huber, Hinge, SquaredHinge, Triplet: the spec's numbers and identities.
#include <doctest/doctest.h>

#include <cmath>

#include "xtape/xtape.hpp"

using namespace xtape;

namespace {
// The spec's inputs: pred [1,2,3,4], label [1,3,5,7], sample_weight [0.5,1,0.5,1].
template <class T>
struct SpecInputs {
    Tape<T> tape;
    Var<T> pred = tape.leaf(xt::xarray<T>{1, 2, 3, 4});
    Var<T> label = tape.leaf(xt::xarray<T>{1, 3, 5, 7});
    Var<T> sw = tape.leaf(xt::xarray<T>{0.5, 1, 0.5, 1});
};

template <class T>
double total(const Var<T>& out) {
    return static_cast<double>(xt::sum(out.value())());
}
}  // namespace

TEST_CASE_TEMPLATE("L1Loss: the spec's worked numbers", T, float, double) {
    SpecInputs<T> in;
    CHECK(total(L1Loss<T>()(in.pred, in.label)) == doctest::Approx(6));
    CHECK(total(L1Loss<T>({.weight = 0.5})(in.pred, in.label)) == doctest::Approx(3));
    CHECK(total(L1Loss<T>()(in.pred, in.label, in.sw)) == doctest::Approx(5));
}

TEST_CASE_TEMPLATE("L2Loss: the spec's worked numbers", T, float, double) {
    SpecInputs<T> in;
    CHECK(total(L2Loss<T>()(in.pred, in.label)) == doctest::Approx(7));
    CHECK(total(L2Loss<T>({.weight = 0.25})(in.pred, in.label)) == doctest::Approx(1.75));
    CHECK(total(L2Loss<T>()(in.pred, in.label, in.sw)) == doctest::Approx(6));
    // A weight of None still halves the squared error.
    CHECK(total(L2Loss<T>({.weight = std::nullopt})(in.pred, in.label)) == doctest::Approx(7));
}

TEST_CASE_TEMPLATE("HuberLoss: the spec's worked numbers", T, float, double) {
    SpecInputs<T> in;
    CHECK(total(HuberLoss<T>()(in.pred, in.label)) == doctest::Approx(4.5));
    CHECK(total(HuberLoss<T>({.weight = 0.25})(in.pred, in.label)) == doctest::Approx(1.125));
    CHECK(total(HuberLoss<T>()(in.pred, in.label, in.sw)) == doctest::Approx(3.75));
}

TEST_CASE_TEMPLATE("HingeLoss and SquaredHingeLoss: the spec's worked numbers", T, float, double) {
    SpecInputs<T> in;
    CHECK(total(HingeLoss<T>({.margin = 10})(in.pred, in.label)) == doctest::Approx(13));
    CHECK(total(HingeLoss<T>({.margin = 8, .weight = 0.25})(in.pred, in.label)) == doctest::Approx(2.25));
    CHECK(total(HingeLoss<T>({.margin = 7})(in.pred, in.label, in.sw)) == doctest::Approx(4));
    CHECK(total(SquaredHingeLoss<T>({.margin = 10})(in.pred, in.label)) == doctest::Approx(97));
    CHECK(total(SquaredHingeLoss<T>({.margin = 8, .weight = 0.25})(in.pred, in.label)) == doctest::Approx(13.25));
    CHECK(total(SquaredHingeLoss<T>({.margin = 7})(in.pred, in.label, in.sw)) == doctest::Approx(19));
}

TEST_CASE_TEMPLATE("TripletLoss: the spec's worked numbers", T, float, double) {
    SpecInputs<T> in;
    const Var<T> negative = neg(in.label);
    CHECK(total(TripletLoss<T>({.margin = 10})(in.pred, in.label, negative)) == doctest::Approx(6));
    CHECK(total(TripletLoss<T>({.margin = 8, .weight = 0.25})(in.pred, in.label, negative)) == doctest::Approx(1));
    CHECK(total(TripletLoss<T>({.margin = 7})(in.pred, in.label, negative, in.sw)) == doctest::Approx(1.5));
}

TEST_CASE_TEMPLATE("mean_b averages over every axis but batch_axis, which may be negative", T, float, double) {
    Tape<T> tape;
    // (2, 3) errors; |label - pred| = the values themselves.
    const Var<T> pred = tape.leaf(xt::xarray<T>{{1, 2, 3}, {4, 5, 6}});
    const Var<T> zero = tape.constant(xt::zeros<T>({2, 3}));
    const Var<T> per_row = L1Loss<T>()(pred, zero);
    CHECK(per_row.shape() == Shape{2});
    CHECK(per_row.value()(0) == doctest::Approx(2));
    CHECK(per_row.value()(1) == doctest::Approx(5));
    const Var<T> per_column = L1Loss<T>({.batch_axis = -1})(pred, zero);
    CHECK(per_column.shape() == Shape{3});
    CHECK(per_column.value()(0) == doctest::Approx(2.5));
    CHECK(per_column.value()(2) == doctest::Approx(4.5));
    CHECK_THROWS_WITH_AS(L1Loss<T>({.batch_axis = 2})(pred, zero), doctest::Contains("L1Loss"), ShapeError);
    CHECK_THROWS_WITH_AS(L1Loss<T>({.batch_axis = -3})(pred, zero), doctest::Contains("L1Loss"), ShapeError);
}

TEST_CASE_TEMPLATE("per-element sample weights are not normalised by their sum", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{1, 1}, {2, 2}});
    const Var<T> label = tape.constant(xt::zeros<T>({2, 2}));
    const Var<T> sw = tape.leaf(xt::xarray<T>{{3, 1}, {0, 0}});
    // mean(sw * e) per row: (3*1 + 1*1)/2 = 2, (0 + 0)/2 = 0
    const Var<T> out = L1Loss<T>()(pred, label, sw);
    CHECK(out.value()(0) == doctest::Approx(2));
    CHECK(out.value()(1) == doctest::Approx(0));
}

TEST_CASE("HuberLoss is L2 / rho for a huge rho and L1 - rho/2 for a tiny one") {
    Tape<double> tape;
    const Var<double> pred = tape.leaf(xt::xarray<double>{{0.5, -1.5, 2}, {3, 0.25, -2}});
    const Var<double> label = tape.leaf(xt::xarray<double>{{1, 1, 1}, {-1, -1, -1}});
    const double huge = 1e3;
    const double tiny = 1e-3;  // below every |label - pred|
    const auto l2 = L2Loss<double>()(pred, label).value();
    const auto l1 = L1Loss<double>()(pred, label).value();
    const auto big = HuberLoss<double>({.rho = huge})(pred, label).value();
    const auto small = HuberLoss<double>({.rho = tiny})(pred, label).value();
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(big(i) == doctest::Approx(l2(i) / huge));
        CHECK(small(i) == doctest::Approx(l1(i) - tiny / 2));
    }
}

TEST_CASE_TEMPLATE("HuberLoss rejects rho <= 0", T, float, double) {
    CHECK_THROWS_WITH_AS(HuberLoss<T>({.rho = 0}), doctest::Contains("HuberLoss"), ValueError);
    CHECK_THROWS_WITH_AS(HuberLoss<T>({.rho = -1}), doctest::Contains("rho"), ValueError);
    CHECK_THROWS_AS(HuberLoss<T>({.rho = std::nan("")}), ValueError);
}

TEST_CASE_TEMPLATE("labels are reshaped like pred, never broadcast", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{1, 2}, {3, 4}});
    const Var<T> flat = tape.leaf(xt::xarray<T>{1, 3, 5, 7});  // 4 elements: reshaped to (2, 2)
    const Var<T> out = L1Loss<T>()(pred, flat);
    CHECK(out.value()(0) == doctest::Approx(0.5));  // |1-1|, |3-2|
    CHECK(out.value()(1) == doctest::Approx(2.5));  // |5-3|, |7-4|
    tape.backward(sum(out));
    CHECK(flat.grad().shape() == Shape{4});
    CHECK(flat.grad()(1) == doctest::Approx(0.5));

    const Var<T> row = tape.leaf(xt::xarray<T>{1, 2});  // would broadcast, but has 2 elements
    CHECK_THROWS_WITH_AS(L2Loss<T>()(pred, row),
                         doctest::Contains("L2Loss: label of shape (2,) has 2 elements, pred of shape (2, 2)"),
                         ShapeError);
    // positive would be reshaped, negative cannot be: the check comes before any reshape is recorded.
    const std::size_t before = tape.size();
    CHECK_THROWS_WITH_AS(TripletLoss<T>()(pred, flat, row), doctest::Contains("TripletLoss: negative"), ShapeError);
    CHECK(tape.size() == before);
}

TEST_CASE_TEMPLATE("sample_weight must broadcast to the elementwise loss and is never reshaped", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::zeros<T>({2, 3}));
    const Var<T> label = tape.leaf(xt::ones<T>({2, 3}));
    CHECK_NOTHROW(L2Loss<T>()(pred, label, tape.leaf(xt::ones<T>({2, 1}))));
    CHECK_NOTHROW(L2Loss<T>()(pred, label, tape.leaf(xt::ones<T>({3}))));
    // (2,) has pred's batch size but does not broadcast from the right: an error, not a reshape.
    CHECK_THROWS_WITH_AS(HuberLoss<T>()(pred, label, tape.leaf(xt::ones<T>({2}))),
                         doctest::Contains("HuberLoss: sample_weight of shape (2,) does not broadcast to the loss "
                                           "of shape (2, 3)"),
                         ShapeError);
    // A weight that would enlarge the loss is rejected too.
    CHECK_THROWS_AS(L1Loss<T>()(pred, label, tape.leaf(xt::ones<T>({4, 2, 3}))), ShapeError);
    // Triplet is per sample: its sample_weight broadcasts to (N,).
    CHECK_NOTHROW(TripletLoss<T>()(pred, label, label, tape.leaf(xt::ones<T>({2}))));
    CHECK_THROWS_WITH_AS(TripletLoss<T>()(pred, label, label, tape.leaf(xt::ones<T>({2, 1}))),
                         doctest::Contains("TripletLoss"), ShapeError);
}

TEST_CASE("weights constant over a sample, applied after the per-sample mean, give weighting-first values and gradients") {
    // L2 with weight 0.6 over a (2, 3) pred, sample weights of every broadcastable kind;
    // the reference weights first, then averages, with plain ops.
    const xt::xarray<double> pred_value{{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}};
    const xt::xarray<double> label_value{{1.0, 0.0, -1.0}, {2.0, 1.0, 0.5}};
    struct Case {
        Shape sw_shape;
        std::ptrdiff_t batch_axis;
    };
    for (const Case& c : {Case{{2, 1}, 0}, Case{{}, 0}, Case{{1, 1}, 0}, Case{{3}, 0}, Case{{2, 3}, 0},
                          Case{{1, 3}, 1}, Case{{2, 1}, 1}}) {
        CAPTURE(to_string(c.sw_shape));
        CAPTURE(c.batch_axis);
        xt::xarray<double> sw_value = xt::empty<double>(c.sw_shape);
        for (std::size_t i = 0; i < sw_value.size(); ++i) sw_value.flat(i) = 0.5 + 0.25 * static_cast<double>(i);
        Tape<double> tape;
        const Var<double> pred = tape.leaf(pred_value);
        const Var<double> sw = tape.leaf(sw_value);
        const Var<double> got = L2Loss<double>({.weight = 0.6, .batch_axis = c.batch_axis})(pred, tape.constant(label_value), sw);
        tape.backward(sum(got));
        Tape<double> reference_tape;
        const Var<double> rp = reference_tape.leaf(pred_value);
        const Var<double> rsw = reference_tape.leaf(sw_value);
        const Var<double> weighted = mul(mul(square(sub(reference_tape.constant(label_value), rp)), rsw), 0.3);
        const Var<double> want = mean(weighted, {c.batch_axis == 0 ? 1 : 0});
        reference_tape.backward(sum(want));
        REQUIRE(got.shape() == want.shape());
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(got.value().flat(i) == doctest::Approx(want.value().flat(i)).epsilon(1e-14));
        for (std::size_t i = 0; i < pred_value.size(); ++i) CHECK(pred.grad().flat(i) == doctest::Approx(rp.grad().flat(i)).epsilon(1e-14));
        for (std::size_t i = 0; i < sw_value.size(); ++i) CHECK(sw.grad().flat(i) == doctest::Approx(rsw.grad().flat(i)).epsilon(1e-14));
    }
}

TEST_CASE("fused losses weight as Gluon does: weighting first, whatever the shape of sample_weight") {
    // HingeLoss (a fused mean per sample) and PoissonNLLLoss (fused sums per
    // sample, then the mean over all) with weight 0.6, against weighting first
    // with plain ops, for every broadcastable kind of sample weight.
    const xt::xarray<double> pred_value{{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}};
    const xt::xarray<double> label_value{{1.0, -1.0, -1.0}, {1.0, 1.0, -1.0}};
    struct Case {
        Shape sw_shape;
        std::ptrdiff_t batch_axis;
    };
    for (const bool hinge : {true, false}) {
        for (const Case& c : {Case{{2, 1}, 0}, Case{{}, 0}, Case{{1, 1}, 0}, Case{{3}, 0}, Case{{2, 3}, 0},
                              Case{{1, 3}, 1}, Case{{2, 1}, 1}}) {
            CAPTURE(hinge);
            CAPTURE(to_string(c.sw_shape));
            CAPTURE(c.batch_axis);
            xt::xarray<double> sw_value = xt::empty<double>(c.sw_shape);
            for (std::size_t i = 0; i < sw_value.size(); ++i) sw_value.flat(i) = 0.5 + 0.25 * static_cast<double>(i);
            Tape<double> tape;
            const Var<double> pred = tape.leaf(pred_value);
            const Var<double> sw = tape.leaf(sw_value);
            const Var<double> label = tape.constant(label_value);
            const Var<double> got =
                hinge ? HingeLoss<double>({.weight = 0.6, .batch_axis = c.batch_axis})(pred, label, sw)
                      : PoissonNLLLoss<double>({.weight = 0.6, .batch_axis = c.batch_axis})(pred, label, sw);
            tape.backward(sum(got));
            Tape<double> reference_tape;
            const Var<double> rp = reference_tape.leaf(pred_value);
            const Var<double> rsw = reference_tape.leaf(sw_value);
            const Var<double> rl = reference_tape.constant(label_value);
            const Var<double> e = hinge ? relu(rsub(1.0, mul(rp, rl))) : sub(exp(rp), mul(rl, rp));
            const Var<double> weighted = mul(mul(e, rsw), 0.6);
            const Var<double> want =
                hinge ? mean(weighted, {c.batch_axis == 0 ? 1 : 0}) : reshape(mean(weighted), Shape{1});
            reference_tape.backward(sum(want));
            REQUIRE(got.shape() == want.shape());
            for (std::size_t i = 0; i < want.size(); ++i) CHECK(got.value().flat(i) == doctest::Approx(want.value().flat(i)).epsilon(1e-14));
            for (std::size_t i = 0; i < pred_value.size(); ++i) CHECK(pred.grad().flat(i) == doctest::Approx(rp.grad().flat(i)).epsilon(1e-14));
            for (std::size_t i = 0; i < sw_value.size(); ++i) CHECK(sw.grad().flat(i) == doctest::Approx(rsw.grad().flat(i)).epsilon(1e-14));
        }
    }
}

TEST_CASE("NaN in the inputs propagates to the loss without an error") {
    Tape<double> tape;
    const Var<double> pred = tape.leaf(xt::xarray<double>{{1, std::nan("")}, {2, 3}});
    const Var<double> label = tape.leaf(xt::zeros<double>({2, 2}));
    const auto out = L2Loss<double>()(pred, label).value();
    CHECK(std::isnan(out(0)));
    CHECK(out(1) == doctest::Approx(3.25));
}
