// The traps a new user fell into, each now an error or the intended meaning.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "xtape/train.hpp"
#include "xtape/xtape.hpp"

using namespace xtape;

TEST_CASE("where written unqualified on Vars is xtape's where") {
    // The mask's type is xtensor's, so argument-dependent lookup also finds
    // xt::where; before the constrained overload this call picked it (and failed
    // to compile). Non-const Vars, a stored mask, and an expression mask with
    // temporary Vars are the three ways the call binds.
    Tape<double> tape;
    Var<double> a = tape.leaf(xt::xarray<double>{1, 2, 3});
    Var<double> b = tape.leaf(xt::xarray<double>{10, 20, 30});
    Mask mask = {true, false, true};
    static_assert(std::is_same_v<decltype(where(mask, a, b)), Var<double>>);
    Var<double> picked = where(mask, a, b);
    CHECK(picked.value() == xt::xarray<double>{1, 20, 3});
    tape.backward(sum(picked));
    CHECK(a.grad() == xt::xarray<double>{1, 0, 1});
    CHECK(b.grad() == xt::xarray<double>{0, 1, 0});

    const Var<double> doubled = where(a.value() > 1.5, mul(a, 2.0), mul(b, 1.0));
    CHECK(doubled.value() == xt::xarray<double>{10, 4, 6});
    CHECK(std::string(doubled.op()) == "where");
}

TEST_CASE("an optimizer trains parameters recorded on the user's own tape") {
    // The README's pattern: a Tape of one's own, and step() with no tape. The
    // step used to read gradients from the thread's current tape, found none,
    // and trained nothing: the loss stayed where it started.
    Rng rng(3);
    const Dense<float> layer(3, 1, Activation::Identity, rng);
    Adam<float> adam(layer.parameters(), {.learning_rate = 0.05});
    const xt::xarray<float> x = {{1, 0, 2}, {0, 1, -1}, {2, 1, 0}, {-1, 2, 1}};
    xt::xarray<float> y = {1.0f, -1.0f, 2.0f, 0.5f};
    y.reshape({4, 1});
    Tape<float> tape;
    std::vector<float> losses;
    for (int step = 0; step < 50; ++step) {
        const Var<float> loss = mean(square(sub(layer(tape.constant(x)), tape.constant(y))));
        losses.push_back(loss.value().flat(0));
        tape.backward(loss);
        adam.step();
        tape.clear();
    }
    CHECK(adam.steps() == 50);
    CHECK(losses.back() < 0.5f * losses.front());
    CHECK(current_tape<float>().size() == 0);  // the thread's tape took no part
}

TEST_CASE_TEMPLATE("a step with no gradient throws, names the count and changes nothing", T, float, double) {
    Rng rng(4);
    const Dense<T> layer(2, 2, Activation::Tanh, rng);
    SGD<T> sgd(layer.parameters(), {.learning_rate = 0.1, .momentum = 0.9});
    const xt::xarray<T> before = layer.weight().value();
    Tape<T> tape;
    const Var<T> loss = sum(layer(tape.constant(xt::xarray<T>{{1, 2}})));
    // Backward not called yet.
    CHECK_THROWS_WITH_AS(sgd.step(), doctest::Contains("none of the 2 parameters has a gradient"), TapeError);
    // The tape cleared between backward and step.
    tape.backward(loss);
    tape.clear();
    CHECK_THROWS_WITH_AS(sgd.step(), doctest::Contains("SGD::step"), TapeError);
    CHECK(sgd.steps() == 0);
    CHECK(layer.weight().value() == before);
    CHECK(sgd.state(0, 0) == xt::zeros<T>({2, 2}));
}

TEST_CASE("NoGradGuard names its tape: a guard on the thread's tape cannot be made by accident") {
    static_assert(!std::is_default_constructible_v<NoGradGuard<float>>);
    Tape<float> tape;
    const Var<float> x = tape.leaf(xt::xarray<float>{1});
    {
        NoGradGuard<float> no_grad(tape);
        CHECK_FALSE(mul(x, 2.0f).requires_grad());
    }
    CHECK(mul(x, 2.0f).requires_grad());
}
