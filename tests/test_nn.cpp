// Parameters, weight initialisation, Dense and MLP layers, and saving parameters as .npy.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xrandom.hpp>

#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;

namespace {
// A fresh temporary directory, removed when the test ends.
struct TempDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / fmt::format("xtape-test-nn-{}", ::getpid());
    ~TempDir() { std::filesystem::remove_all(path); }
};

// Central differences of `loss` (a scalar built on a fresh tape) with respect
// to every element of every parameter, compared with Parameter::grad after one
// backward: the path a training step takes, checked like gradcheck does.
void check_parameter_gradients(const std::vector<Parameter<double>>& parameters,
                               const std::function<Var<double>(Tape<double>&)>& loss) {
    Tape<double> tape;
    tape.backward(loss(tape));
    std::vector<xt::xarray<double>> analytic_grads;
    for (const Parameter<double>& p : parameters) analytic_grads.push_back(p.grad());
    const double eps = 1e-6, atol = 1e-5, rtol = 1e-3;
    for (std::size_t k = 0; k < parameters.size(); ++k) {
        Parameter<double> p = parameters[k];
        const xt::xarray<double>& analytic = analytic_grads[k];
        REQUIRE(analytic.shape() == p.shape());
        for (std::size_t i = 0; i < p.value().size(); ++i) {
            const double saved = p.value().flat(i);
            auto evaluate = [&](double x) {
                p.value().flat(i) = x;
                Tape<double> fresh;
                return loss(fresh).value().flat(0);
            };
            const double numeric = (evaluate(saved + eps) - evaluate(saved - eps)) / (2 * eps);
            p.value().flat(i) = saved;
            INFO(p.name(), "[", i, "]: analytic ", analytic.flat(i), ", numeric ", numeric);
            CHECK(std::abs(analytic.flat(i) - numeric) <= atol + rtol * std::abs(numeric));
        }
    }
}

xt::xarray<double> random_inputs(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    Rng rng(seed);
    xt::xarray<double> x = xt::empty<double>({rows, cols});
    for (auto& v : x) v = standard_normal(rng);
    return x;
}
}  // namespace

TEST_CASE_TEMPLATE("a parameter enters each step once, without a copy, and its copies share the value", T, float,
                   double) {
    Parameter<T> w("w", xt::xarray<T>{2, 3});
    Parameter<T> alias = w;
    const T* storage = w.value().data();
    CHECK(w.tape() == nullptr);
    Tape<T> tape;
    const Var<T> first = w.var(tape);
    const Var<T> again = alias.var(tape);
    CHECK(first.index() == again.index());
    CHECK(first.value().data() == storage);  // the tape holds the parameter's own array
    CHECK(w.tape() == &tape);
    CHECK_FALSE(w.has_grad());
    CHECK_THROWS_WITH_AS(w.grad(), doctest::Contains("backward has not reached"), TapeError);
    // w used twice: d/dw sum(w*w + w) = 2w + 1.
    tape.backward(sum(add(mul(first, again), first)));
    CHECK(w.grad() == xt::xarray<T>{5, 7});
    CHECK(&w.grad() == &tape.grad_of(first.index()));  // the tape's own array, not a copy
    CHECK(alias.grad() == xt::xarray<T>{5, 7});

    tape.clear();
    CHECK(w.tape() == nullptr);
    CHECK_FALSE(w.has_grad());  // not entered this step
    CHECK_THROWS_WITH_AS(w.grad(), doctest::Contains("has not entered a tape"), TapeError);
    alias.value() += T(1);
    CHECK(w.value() == xt::xarray<T>{3, 4});
    CHECK(w.value().data() == storage);
    CHECK(w.var(tape).value() == xt::xarray<T>{3, 4});  // a new leaf with the new value

    CHECK_THROWS_WITH_AS(w.assign(xt::xarray<T>{1, 2, 3}), doctest::Contains("'w'"), ShapeError);
    CHECK_THROWS_AS(Parameter<T>("", xt::xarray<T>{1}), ValueError);
}

TEST_CASE("a parameter follows the tape it last entered with gradients, and evaluation leaves it there") {
    Parameter<double> w("w", xt::xarray<double>{2});
    Tape<double> train;
    const Var<double> leaf = w.var(train);
    train.backward(mul(leaf, 4.0));
    {
        // Evaluation on a tape without gradients while w is on `train`: a copy.
        Tape<double> evaluate;
        NoGradGuard<double> no_grad(evaluate);
        const Var<double> copy = w.var(evaluate);
        CHECK(copy.value().data() != w.value().data());
        CHECK(w.tape() == &train);
    }
    CHECK(w.grad()(0) == 4);  // still train's gradient
    // A second tape that records gradients takes w over; train keeps a copy.
    Tape<double> other;
    const Var<double> moved = w.var(other);
    CHECK(w.tape() == &other);
    CHECK(moved.value().data() == w.value().data());
    CHECK(leaf.value()(0) == 2);
    CHECK_FALSE(w.has_grad());
    other.backward(mul(moved, 3.0));
    CHECK(w.grad()(0) == 3);
    CHECK(leaf.grad()(0) == 4);
}

TEST_CASE("a tape made where a destroyed one was is not mistaken for it") {
    // Tapes on the stack in a loop reuse one address and all start at epoch 1;
    // each one's destruction gives the parameter back.
    Parameter<double> w("w", xt::xarray<double>{2});
    for (int round = 0; round < 3; ++round) {
        Tape<double> tape;
        if (round == 0) {
            tape.leaf(xt::xarray<double>{7});
            w.var(tape);  // index 1
        } else {
            // Index 1 now holds another leaf; w must get a leaf of its own.
            CHECK(w.tape() == nullptr);
            tape.constant(xt::xarray<double>{3});
            tape.leaf(xt::xarray<double>{9});
            const Var<double> leaf = w.var(tape);
            CHECK(leaf.index() == 2);
            CHECK(leaf.value()(0) == 2);
            tape.backward(mul(leaf, 4.0));
            CHECK(w.grad()(0) == 4);
        }
    }
}

TEST_CASE("Glorot and He initialisation have the documented spread and follow the seed") {
    Rng rng(11);
    const xt::xarray<double> g = glorot_uniform<double>(200, 100, rng);
    CHECK(g.shape() == Shape{200, 100});
    const double limit = std::sqrt(6.0 / 300.0);
    CHECK(xt::amax(xt::abs(g))() <= limit);
    // U(-a, a) has variance a^2 / 3.
    CHECK(xt::mean(xt::square(g))() == doctest::Approx(limit * limit / 3).epsilon(0.03));

    const xt::xarray<double> h = he_normal<double>(200, 100, rng);
    CHECK(std::abs(xt::mean(h)()) < 0.005);
    CHECK(xt::mean(xt::square(h))() == doctest::Approx(2.0 / 200).epsilon(0.03));

    Rng a(5), b(5);
    CHECK(glorot_uniform<float>(3, 4, a) == glorot_uniform<float>(3, 4, b));
    CHECK_THROWS_AS(he_normal<float>(0, 4, a), ValueError);
}

TEST_CASE_TEMPLATE("a dense layer computes activation(x W + b)", T, float, double) {
    Rng rng(1);
    Dense<T> layer(2, 3, Activation::Relu, rng, "d");
    Parameter<T> weight = layer.weight();  // a handle: assigning through it sets the layer's
    Parameter<T> bias = layer.bias();
    weight.assign(xt::xarray<T>{{1, -1, 0.5}, {2, 1, -1}});
    bias.assign(xt::xarray<T>{0, 0.5, -3});
    Tape<T> tape;
    const Var<T> y = layer(tape.constant(xt::xarray<T>{{1, 1}, {-1, 2}}));
    // x W + b = {{3, 0.5, -3.5}, {3, 3.5, -4.5}}, then relu.
    CHECK(y.value() == xt::xarray<T>{{3, 0.5, 0}, {3, 3.5, 0}});
    CHECK(layer.parameters()[0].name() == "d.weight");
    CHECK(layer.parameters()[1].name() == "d.bias");
    CHECK_THROWS_WITH_AS(layer(tape.constant(xt::xarray<T>{{1, 2, 3}})), doctest::Contains("(N, 2)"), ShapeError);
}

TEST_CASE("dense gradients with respect to weights, bias and input match finite differences") {
    Rng rng(2);
    const Dense<double> layer(4, 3, Activation::Tanh, rng);
    const xt::xarray<double> x = random_inputs(5, 4, 3);
    const xt::xarray<double> target = random_inputs(5, 3, 4);
    check_parameter_gradients(layer.parameters(), [&](Tape<double>& tape) {
        return sum(square(sub(layer(tape.constant(x)), tape.constant(target))));
    });
    // The input gradient, by gradcheck.
    const auto result = gradcheck(
        [&](Tape<double>&, const std::vector<Var<double>>& in) { return layer(in[0]); }, {{"x", x}});
    CHECK_MESSAGE(result.passed, to_string(result));
}

TEST_CASE("dense layers with sigmoid, gelu, leaky_relu and elu compute them and have the right gradients") {
    Rng rng(8);
    const xt::xarray<double> x = random_inputs(5, 4, 9);
    const xt::xarray<double> target = random_inputs(5, 3, 10);
    const std::vector<std::pair<Activation, std::function<double(double)>>> cases = {
        {Activation::Sigmoid, [](double z) { return 1 / (1 + std::exp(-z)); }},
        {Activation::Gelu, [](double z) { return 0.5 * z * (1 + std::erf(z / std::sqrt(2.0))); }},
        {Activation::LeakyRelu, [](double z) { return z > 0 ? z : 0.01 * z; }},
        {Activation::Elu, [](double z) { return z > 0 ? z : std::expm1(z); }},
    };
    for (const auto& [activation, f] : cases) {
        CAPTURE(to_string(activation));
        const Dense<double> layer(4, 3, activation, rng);
        Tape<double> tape;
        const Var<double> y = layer(tape.constant(x));
        const xt::xarray<double> affine = xt::linalg::dot(x, layer.weight().value()) + layer.bias().value();
        for (std::size_t i = 0; i < y.size(); ++i) CHECK(y.value().flat(i) == doctest::Approx(f(affine.flat(i))));
        check_parameter_gradients(layer.parameters(), [&](Tape<double>& t) {
            return sum(square(sub(layer(t.constant(x)), t.constant(target))));
        });
        CHECK(parse_activation(to_string(activation)) == activation);
    }
    CHECK_THROWS_WITH_AS(parse_activation("swish"), doctest::Contains("leaky_relu"), ValueError);
}

TEST_CASE("an MLP chains its layers, names its parameters and has the right gradients") {
    Rng rng(3);
    const MLP<double> mlp({4, 6, 5, 2}, Activation::Tanh, rng, "net");
    REQUIRE(mlp.layers().size() == 3);
    CHECK(mlp.layers()[0].activation() == Activation::Tanh);
    CHECK(mlp.layers()[2].activation() == Activation::Identity);
    const auto parameters = mlp.parameters();
    REQUIRE(parameters.size() == 6);
    CHECK(parameters[0].name() == "net.0.weight");
    CHECK(parameters[5].name() == "net.2.bias");
    CHECK(parameters[2].shape() == Shape{6, 5});

    const xt::xarray<double> x = random_inputs(3, 4, 8);
    check_parameter_gradients(parameters, [&](Tape<double>& tape) {
        return sum(square(mlp(tape.constant(x))));
    });
    CHECK_THROWS_AS(MLP<double>({4}, Activation::Relu, rng), ValueError);
    CHECK(parse_activation("tanh") == Activation::Tanh);
    CHECK_THROWS_WITH_AS(parse_activation("swish"), doctest::Contains("swish"), ValueError);
}

TEST_CASE_TEMPLATE("an MLP trained with Adam learns XOR", T, float, double) {
    Rng rng(4);
    MLP<T> mlp({2, 8, 1}, Activation::Tanh, rng);
    Adam<T> adam(mlp.parameters(), {.learning_rate = 0.05});
    const xt::xarray<T> x = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    xt::xarray<T> y = {0, 1, 1, 0};
    y.reshape({4, 1});
    Tape<T> tape;
    T loss = 0;
    for (int step = 0; step < 300; ++step) {
        const Var<T> l = mean(square(sub(mlp(tape.constant(x)), tape.constant(y))));
        loss = l.value().flat(0);
        tape.backward(l);
        adam.step();
        tape.clear();
    }
    CHECK(loss < T(0.01));
}

TEST_CASE_TEMPLATE("predict evaluates without gradients and leaves the parameters on their tape", T, float,
                   double) {
    Rng rng(12);
    const MLP<T> mlp({3, 4, 2}, Activation::Relu, rng);
    const xt::xarray<T> x = {{1, -1, 0.5}, {0, 2, -2}};
    Tape<T> tape;
    const xt::xarray<T> recorded = mlp(tape.constant(x)).value();
    const std::size_t nodes = tape.size();
    // While the parameters are on `tape`, predict works on copies of them.
    CHECK(predict(mlp, x) == recorded);
    CHECK(tape.size() == nodes);
    CHECK(mlp.parameters()[0].tape() == &tape);
    tape.clear();
    // Off any tape, predict borrows them and gives them back.
    CHECK(predict(mlp, x) == recorded);
    CHECK(mlp.parameters()[0].tape() == nullptr);
}

TEST_CASE_TEMPLATE("argmax_rows picks each row's first largest score and accuracy counts matches", T, float, double) {
    const xt::xarray<T> scores = {{0.1, 0.7, 0.2}, {3, -1, 3}, {-5, -4, -6}};
    CHECK(argmax_rows(scores) == xt::xarray<T>{1, 0, 1});
    CHECK(accuracy(argmax_rows(scores), xt::xarray<T>{1, 2, 1}) == doctest::Approx(2.0 / 3.0));
    CHECK(accuracy(xt::xarray<T>{4}, xt::xarray<T>{4}) == 1.0);
    CHECK_THROWS_WITH_AS(argmax_rows(xt::xarray<T>{1, 2}), doctest::Contains("argmax_rows"), ShapeError);
    CHECK_THROWS_AS(argmax_rows(xt::xarray<T>(xt::zeros<T>({2, 0}))), ShapeError);
    CHECK_THROWS_WITH_AS(accuracy(xt::xarray<T>{1, 2}, xt::xarray<T>{1, 2, 3}), doctest::Contains("(3,)"), ShapeError);
    CHECK_THROWS_AS(accuracy(xt::xarray<T>(xt::zeros<T>({0})), xt::xarray<T>(xt::zeros<T>({0}))), ShapeError);
}

TEST_CASE_TEMPLATE("parameters saved as .npy load back exactly", T, float, double) {
    TempDir dir;
    Rng rng(6);
    const MLP<T> trained({3, 4, 2}, Activation::Relu, rng);
    save_parameters(trained.parameters(), dir.path.string());
    CHECK(std::filesystem::exists(dir.path / "mlp.0.weight.npy"));

    Rng other_rng(7);
    const MLP<T> fresh({3, 4, 2}, Activation::Relu, other_rng);
    REQUIRE(fresh.parameters()[0].value() != trained.parameters()[0].value());
    load_parameters(fresh.parameters(), dir.path.string());
    for (std::size_t k = 0; k < 4; ++k) CHECK(fresh.parameters()[k].value() == trained.parameters()[k].value());

    // A stored shape that does not fit, a missing file: errors, and nothing changes.
    const MLP<T> wider({3, 5, 2}, Activation::Relu, other_rng);
    const xt::xarray<T> before = wider.parameters()[0].value();
    CHECK_THROWS_WITH_AS(load_parameters(wider.parameters(), dir.path.string()), doctest::Contains("mlp.0.weight"),
                         ShapeError);
    CHECK(wider.parameters()[0].value() == before);
    const MLP<T> renamed({3, 4, 2}, Activation::Relu, other_rng, "other");
    CHECK_THROWS_WITH_AS(load_parameters(renamed.parameters(), dir.path.string()), doctest::Contains("other.0.weight"),
                         ValueError);
    std::vector<Parameter<T>> twins = {Parameter<T>("a", xt::xarray<T>{1}), Parameter<T>("a", xt::xarray<T>{2})};
    CHECK_THROWS_WITH_AS(save_parameters(twins, dir.path.string()), doctest::Contains("'a'"), ValueError);
}

TEST_CASE("parameters saved in float do not load silently as double") {
    TempDir dir;
    save_parameters(std::vector<Parameter<float>>{Parameter<float>("p", xt::xarray<float>{1, 2})}, dir.path.string());
    std::vector<Parameter<double>> as_double = {Parameter<double>("p", xt::xarray<double>{0, 0})};
    CHECK_THROWS_WITH_AS(load_parameters(as_double, dir.path.string()), doctest::Contains("p.npy"), ValueError);
}
