// The optimizers (SGD with momentum and weight decay, Adam, AdamW) against
// hand-computed steps, gradient clipping and the learning-rate schedules.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;

namespace {
// One step whose gradient with respect to w is exactly `g`: loss = sum(w * g).
template <class T>
void step_with_gradient(Parameter<T>& w, Optimizer<T>& optimizer, const xt::xarray<T>& g) {
    Tape<T> tape;
    tape.backward(sum(mul(w.var(tape), tape.constant(g))));
    optimizer.step();
}
}  // namespace

TEST_CASE_TEMPLATE("plain SGD steps against the gradient", T, float, double) {
    Parameter<T> w("w", xt::xarray<T>{1, 2});
    SGD<T> sgd({w}, {.learning_rate = 0.1});
    step_with_gradient(w, sgd, xt::xarray<T>{3, -1});
    CHECK(w.value()(0) == doctest::Approx(0.7));
    CHECK(w.value()(1) == doctest::Approx(2.1));
    CHECK(sgd.state_names().empty());  // no velocity without momentum
}

TEST_CASE_TEMPLATE("SGD with momentum accumulates a velocity", T, float, double) {
    Parameter<T> w("w", xt::xarray<T>{1});
    Parameter<T> other("other", xt::xarray<T>{0});
    SGD<T> sgd({w, other}, {.learning_rate = 0.1, .momentum = 0.9});
    step_with_gradient(w, sgd, xt::xarray<T>{3});
    CHECK(w.value()(0) == doctest::Approx(1 - 0.1 * 3));  // v = 3
    step_with_gradient(w, sgd, xt::xarray<T>{3});
    CHECK(w.value()(0) == doctest::Approx(0.7 - 0.1 * (0.9 * 3 + 3)));  // v = 5.7
    // A step in which only `other` has a gradient: w moves by its remaining velocity.
    step_with_gradient(other, sgd, xt::xarray<T>{1});
    CHECK(w.value()(0) == doctest::Approx(0.13 - 0.1 * (0.9 * 5.7)));
    CHECK(other.value()(0) == doctest::Approx(-0.1));
}

TEST_CASE_TEMPLATE("SGD weight decay adds weight_decay * w to the gradient", T, float, double) {
    Parameter<T> w("w", xt::xarray<T>{2});
    SGD<T> sgd({w}, {.learning_rate = 0.1, .weight_decay = 0.5});
    step_with_gradient(w, sgd, xt::xarray<T>{1});
    CHECK(w.value()(0) == doctest::Approx(2 - 0.1 * (1 + 0.5 * 2)));
}

TEST_CASE_TEMPLATE("Adam's steps follow the bias-corrected moments", T, float, double) {
    Parameter<T> w("w", xt::xarray<T>{1, -2});
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    Adam<T> adam({w}, {.learning_rate = lr});
    // Step 1: m = 0.1 g, v = 0.001 g^2, so m_hat / sqrt(v_hat) = g / |g|: a step of
    // learning_rate against the sign of g.
    step_with_gradient(w, adam, xt::xarray<T>{3, -0.5});
    CHECK(w.value()(0) == doctest::Approx(1 - lr * 3 / (3 + eps)));
    CHECK(w.value()(1) == doctest::Approx(-2 + lr * 0.5 / (0.5 + eps)));
    // Step 2 on coordinate 0 with g = 1 after g = 3.
    step_with_gradient(w, adam, xt::xarray<T>{1, 1});
    const double m = b1 * (1 - b1) * 3 + (1 - b1) * 1;
    const double v = b2 * (1 - b2) * 9 + (1 - b2) * 1;
    const double update = lr * (m / (1 - b1 * b1)) / (std::sqrt(v / (1 - b2 * b2)) + eps);
    CHECK(w.value()(0) == doctest::Approx(1 - lr * 3 / (3 + eps) - update));
    CHECK(adam.steps() == 2);
    CHECK(adam.state(0, 0)(0) == doctest::Approx(m));  // m
    CHECK(adam.state(1, 0)(0) == doctest::Approx(v));  // v
}

TEST_CASE_TEMPLATE("AdamW shrinks the weights by 1 - lr * weight_decay before Adam's step", T, float, double) {
    // Loshchilov and Hutter's decoupled decay: the shrinking does not pass through
    // the moments, unlike Adam's L2 penalty (which, in step 1, m_hat / sqrt(v_hat)
    // normalises away: Adam's first step is lr * sign(g + wd w)).
    const double lr = 0.1, wd = 0.5, eps = 1e-8;
    Parameter<T> wa("w", xt::xarray<T>{2, -4});
    Parameter<T> wl2("w", xt::xarray<T>{2, -4});
    AdamW<T> adamw({wa}, {.learning_rate = lr, .epsilon = eps, .weight_decay = wd});
    Adam<T> adam({wl2}, {.learning_rate = lr, .epsilon = eps, .weight_decay = wd});
    step_with_gradient(wa, adamw, xt::xarray<T>{1, 1});
    step_with_gradient(wl2, adam, xt::xarray<T>{1, 1});
    CHECK(wa.value()(0) == doctest::Approx(2 * (1 - lr * wd) - lr / (1 + eps)));
    CHECK(wa.value()(1) == doctest::Approx(-4 * (1 - lr * wd) - lr / (1 + eps)));
    // Adam with L2: g + wd w = 2 and -1, each normalised to a step of lr.
    CHECK(wl2.value()(0) == doctest::Approx(2 - lr));
    CHECK(wl2.value()(1) == doctest::Approx(-4 + lr));
    CHECK(std::string(adamw.name()) == "AdamW");
    CHECK(adamw.options()[3] == std::pair<std::string, double>{"weight_decay", wd});
}

TEST_CASE_TEMPLATE("Adam, AdamW and SGD minimise a quadratic", T, float, double) {
    // (w - 3)^2 summed over two coordinates.
    const xt::xarray<T> target = {3, 3};
    Parameter<T> a("a", xt::xarray<T>{0, -5});
    Parameter<T> aw("aw", xt::xarray<T>{0, -5});
    Parameter<T> s("s", xt::xarray<T>{0, -5});
    Adam<T> adam({a}, {.learning_rate = 0.1});
    AdamW<T> adamw({aw}, {.learning_rate = 0.1, .weight_decay = 0});
    SGD<T> sgd({s}, {.learning_rate = 0.05, .momentum = 0.5});
    Tape<T> tape;
    for (int i = 0; i < 500; ++i) {
        for (const Parameter<T>& p : {a, aw, s}) tape.backward(sum(square(sub(p.var(tape), tape.constant(target)))));
        adam.step();
        adamw.step();
        sgd.step();
        tape.clear();
    }
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(a.value()(i) == doctest::Approx(3).epsilon(1e-3));
        CHECK(aw.value()(i) == doctest::Approx(3).epsilon(1e-3));
        CHECK(s.value()(i) == doctest::Approx(3).epsilon(1e-3));
    }
}

TEST_CASE("float and double optimizers take the same steps") {
    Parameter<float> wf("w", xt::xarray<float>{0.5f, -1.5f});
    Parameter<double> wd("w", xt::xarray<double>{0.5, -1.5});
    Adam<float> af({wf}, {.learning_rate = 0.01});
    Adam<double> ad({wd}, {.learning_rate = 0.01});
    for (int i = 0; i < 10; ++i) {
        const double g = std::sin(i + 1.0);
        step_with_gradient(wf, af, xt::xarray<float>{static_cast<float>(g), 1.0f});
        step_with_gradient(wd, ad, xt::xarray<double>{g, 1.0});
    }
    for (std::size_t i = 0; i < 2; ++i) CHECK(wf.value()(i) == doctest::Approx(wd.value()(i)).epsilon(1e-5));
}

TEST_CASE("an optimizer step uses the gradient and the value on the tape, not copies") {
    // The gradient the step uses is the leaf's, on the tape: scaling it there
    // changes the step. The value updated is the leaf's too (no copy).
    Parameter<double> w("w", xt::xarray<double>{1, 1});
    SGD<double> sgd({w}, {.learning_rate = 1});
    Tape<double> tape;
    const Var<double> leaf = w.var(tape);
    tape.backward(sum(mul(leaf, tape.constant(xt::xarray<double>{2, 4}))));
    w.grad() *= 0.5;
    sgd.step();
    CHECK(w.value() == xt::xarray<double>{0, -1});
    CHECK(leaf.value() == xt::xarray<double>{0, -1});
    CHECK(w.value().data() == leaf.value().data());
}

TEST_CASE_TEMPLATE("a step from given gradients equals the step from the tape's", T, float, double) {
    // Two parameters, one of which gets no gradient on the tape (zeros).
    const xt::xarray<T> g = {0.5, -2};
    Parameter<T> w1("w", xt::xarray<T>{1, 2}), w2("w", xt::xarray<T>{1, 2});
    Parameter<T> u1("u", xt::xarray<T>{3, 4}), u2("u", xt::xarray<T>{3, 4});
    Adam<T> adam1({w1, u1}, {.learning_rate = 0.1, .weight_decay = 0.01});
    Adam<T> adam2({w2, u2}, {.learning_rate = 0.1, .weight_decay = 0.01});
    SGD<T> sgd1({w1, u1}, {.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.01});
    SGD<T> sgd2({w2, u2}, {.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.01});
    const std::vector<xt::xarray<T>> gradients = {g, xt::zeros<T>({2})};
    for (int i = 0; i < 3; ++i) {
        step_with_gradient(w1, adam1, g);
        adam2.step(gradients);
        step_with_gradient(w1, sgd1, g);
        sgd2.step(gradients);
    }
    CHECK(w1.value() == w2.value());  // bit for bit: the same arithmetic
    CHECK(u1.value() == u2.value());
    CHECK(u1.value()(0) != T(3));  // weight decay moved it
}

TEST_CASE("a step from given gradients rejects a wrong number or shape of them") {
    Parameter<double> w("w", xt::xarray<double>{1, 2});
    Adam<double> adam({w});
    SGD<double> sgd({w});
    const std::vector<xt::xarray<double>> none;
    const std::vector<xt::xarray<double>> wrong_shape = {xt::xarray<double>{1, 2, 3}};
    CHECK_THROWS_WITH_AS(adam.step(none), "Adam::step: 0 gradients for 1 parameters", ShapeError);
    CHECK_THROWS_WITH_AS(sgd.step(wrong_shape),
                         "SGD::step: gradient 0 has shape (3,), but parameter 'w' has shape (2,)", ShapeError);
    CHECK(w.value() == xt::xarray<double>{1, 2});  // untouched
    CHECK(adam.steps() == 0);
}

TEST_CASE("optimizers reject hyper-parameters outside their domain") {
    Parameter<double> w("w", xt::xarray<double>{1});
    CHECK_THROWS_WITH_AS(SGD<double>({w}, {.learning_rate = 0}), doctest::Contains("learning_rate"), ValueError);
    CHECK_THROWS_WITH_AS(SGD<double>({w}, {.momentum = 1}), doctest::Contains("momentum"), ValueError);
    CHECK_THROWS_AS(SGD<double>({w}, {.weight_decay = -1}), ValueError);
    CHECK_THROWS_WITH_AS(Adam<double>({w}, {.beta1 = 1}), doctest::Contains("beta1"), ValueError);
    CHECK_THROWS_AS(Adam<double>({w}, {.beta2 = -0.1}), ValueError);
    CHECK_THROWS_AS(Adam<double>({w}, {.epsilon = 0}), ValueError);
    CHECK_THROWS_WITH_AS(AdamW<double>({w}, {.weight_decay = -1}), doctest::Contains("AdamW: weight_decay"),
                         ValueError);
    Adam<double> adam({w});
    CHECK_THROWS_AS(adam.set_learning_rate(-1), ValueError);
    CHECK_THROWS_AS(adam.set_steps(-1), ValueError);
    adam.set_learning_rate(0.5);
    CHECK(adam.learning_rate() == 0.5);
}

TEST_CASE_TEMPLATE("clip_grad_norm scales every gradient to the norm asked for and returns the norm", T, float,
                   double) {
    Parameter<T> a("a", xt::xarray<T>{1, 1});
    Parameter<T> b("b", xt::xarray<T>{{1, 1}, {1, 1}});
    Parameter<T> unused("unused", xt::xarray<T>{1});
    Tape<T> tape;
    // Gradients (3, 0) and ((0, 4), (0, 0)): the norm of all of them is 5.
    tape.backward(add(sum(mul(a.var(tape), tape.constant(xt::xarray<T>{3, 0}))),
                      sum(mul(b.var(tape), tape.constant(xt::xarray<T>{{0, 4}, {0, 0}})))));
    CHECK(clip_grad_norm<T>({a, b, unused}, 10.0) == doctest::Approx(5));
    CHECK(a.grad() == xt::xarray<T>{3, 0});  // under the limit: unchanged
    CHECK(clip_grad_norm<T>({a, b, unused}, 1.0) == doctest::Approx(5));
    CHECK(a.grad()(0) == doctest::Approx(0.6).epsilon(1e-6));
    CHECK(b.grad()(0, 1) == doctest::Approx(0.8).epsilon(1e-6));
    CHECK(clip_grad_norm<T>({a, b}, 1.0) == doctest::Approx(1).epsilon(1e-5));
    CHECK_THROWS_WITH_AS(clip_grad_norm<T>({a}, 0.0), doctest::Contains("max_norm"), ValueError);
    // A norm that is not finite is reported and changes nothing.
    a.grad()(0) = std::numeric_limits<T>::infinity();
    CHECK(std::isinf(clip_grad_norm<T>({a, b}, 1.0)));
    CHECK(b.grad()(0, 1) == doctest::Approx(0.8).epsilon(1e-5));
}

TEST_CASE("StepSchedule falls by gamma every step_size steps") {
    const StepSchedule schedule(0.1, 3, 0.5);
    CHECK(schedule(0) == 0.1);
    CHECK(schedule(2) == 0.1);
    CHECK(schedule(3) == 0.05);
    CHECK(schedule(7) == 0.025);
    CHECK_THROWS_AS(schedule(-1), ValueError);
    CHECK_THROWS_WITH_AS(StepSchedule(0.1, 0), doctest::Contains("step_size"), ValueError);
    CHECK_THROWS_AS(StepSchedule(0.1, 3, 1.5), ValueError);
    CHECK_THROWS_AS(StepSchedule(0, 3), ValueError);
}

TEST_CASE("CosineSchedule warms up linearly, then follows half a cosine to the final rate") {
    const CosineSchedule schedule(1.0, 12, {.warmup = 4, .final_rate = 0.1});
    CHECK(schedule(0) == doctest::Approx(0.25));
    CHECK(schedule(3) == doctest::Approx(1.0));
    CHECK(schedule(4) == doctest::Approx(1.0));
    // Halfway through the cosine (t = 4 + 8 / 2): the mean of base and final.
    CHECK(schedule(8) == doctest::Approx(0.55));
    CHECK(schedule(11) == doctest::Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi * 7 / 8))));
    CHECK(schedule(12) == 0.1);
    CHECK(schedule(100) == 0.1);
    for (std::int64_t t = 5; t < 12; ++t) CHECK(schedule(t) < schedule(t - 1));
    // Without warmup the first rate is the base rate.
    CHECK(CosineSchedule(0.3, 10)(0) == 0.3);
    CHECK_THROWS_WITH_AS(CosineSchedule(1.0, 4, {.warmup = 4}), doctest::Contains("warmup"), ValueError);
    CHECK_THROWS_AS(CosineSchedule(1.0, 4, {.final_rate = 2}), ValueError);
    CHECK_THROWS_AS(schedule(-1), ValueError);
}
