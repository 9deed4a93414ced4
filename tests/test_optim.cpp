// The optimizers: SGD (momentum, weight decay) and Adam, against hand-computed steps.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;

namespace {
// One step whose gradient with respect to w is exactly `g`: loss = sum(w * g).
template <class T, class Optimizer>
void step_with_gradient(Parameter<T>& w, Optimizer& optimizer, const xt::xarray<T>& g) {
    Tape<T> tape;
    tape.backward(sum(mul(w.var(tape), tape.constant(g))));
    optimizer.step(tape);
}
}  // namespace

TEST_CASE_TEMPLATE("plain SGD steps against the gradient", T, float, double) {
    Parameter<T> w("w", xt::xarray<T>{1, 2});
    SGD<T> sgd({w}, {.learning_rate = 0.1});
    step_with_gradient(w, sgd, xt::xarray<T>{3, -1});
    CHECK(w.value()(0) == doctest::Approx(0.7));
    CHECK(w.value()(1) == doctest::Approx(2.1));
}

TEST_CASE_TEMPLATE("SGD with momentum accumulates a velocity", T, float, double) {
    Parameter<T> w("w", xt::xarray<T>{1});
    SGD<T> sgd({w}, {.learning_rate = 0.1, .momentum = 0.9});
    step_with_gradient(w, sgd, xt::xarray<T>{3});
    CHECK(w.value()(0) == doctest::Approx(1 - 0.1 * 3));  // v = 3
    step_with_gradient(w, sgd, xt::xarray<T>{3});
    CHECK(w.value()(0) == doctest::Approx(0.7 - 0.1 * (0.9 * 3 + 3)));  // v = 5.7
    // A step without gradient still moves by the remaining velocity.
    Tape<T> empty;
    sgd.step(empty);
    CHECK(w.value()(0) == doctest::Approx(0.13 - 0.1 * (0.9 * 5.7)));
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
}

TEST_CASE_TEMPLATE("Adam and SGD minimise a quadratic", T, float, double) {
    // (w - 3)^2 summed over two coordinates.
    const xt::xarray<T> target = {3, 3};
    Parameter<T> a("a", xt::xarray<T>{0, -5});
    Parameter<T> s("s", xt::xarray<T>{0, -5});
    Adam<T> adam({a}, {.learning_rate = 0.1});
    SGD<T> sgd({s}, {.learning_rate = 0.05, .momentum = 0.5});
    Tape<T> tape;
    for (int i = 0; i < 500; ++i) {
        tape.backward(sum(square(sub(a.var(tape), tape.constant(target)))));
        tape.backward(sum(square(sub(s.var(tape), tape.constant(target)))));
        adam.step(tape);
        sgd.step(tape);
        tape.clear();
    }
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(a.value()(i) == doctest::Approx(3).epsilon(1e-3));
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
    Adam<double> adam({w});
    CHECK_THROWS_AS(adam.set_learning_rate(-1), ValueError);
    adam.set_learning_rate(0.5);
    CHECK(adam.learning_rate() == 0.5);
}
