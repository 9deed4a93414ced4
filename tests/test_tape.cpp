// The tape: recording, the reverse sweep, accumulation, clearing, guards and threads.
#include <doctest/doctest.h>

#include <thread>

#include "xtape/xtape.hpp"

using namespace xtape;

TEST_CASE_TEMPLATE("a variable used twice gets both contributions", T, float, double) {
    Tape<T> tape;
    auto x = tape.leaf(xt::xarray<T>{3});
    auto y = x * x + x;  // dy/dx = 2x + 1 = 7
    tape.backward(y);
    CHECK(x.grad()(0) == doctest::Approx(7));
}

TEST_CASE("backward needs a single-element root or a seed of its shape") {
    Tape<double> tape;
    auto x = tape.leaf(xt::xarray<double>{1, 2, 3});
    auto y = mul(x, 2.0);
    CHECK_THROWS_AS(tape.backward(y), ShapeError);
    CHECK_THROWS_AS(tape.backward(y, xt::xarray<double>{1, 1}), ShapeError);
    tape.backward(y, xt::xarray<double>{1, 10, 100});
    CHECK(x.grad() == xt::xarray<double>{2, 20, 200});
}

TEST_CASE("leaf gradients accumulate across sweeps, intermediate ones do not") {
    Tape<double> tape;
    auto x = tape.leaf(xt::xarray<double>{2});
    auto y = exp(mul(x, 1.0));
    tape.backward(y);
    tape.backward(y);
    CHECK(x.grad()(0) == doctest::Approx(2 * std::exp(2.0)));
    tape.zero_grad();
    CHECK_FALSE(x.has_grad());
    CHECK(x.grad()(0) == 0);
}

TEST_CASE("a tape that keeps no intermediate gradients hands add's and sub's on: same leaf gradients") {
    // Leaves used once, twice, through add and sub on either side, with a broadcast operand.
    const auto record = [](const Var<double>& a, const Var<double>& b, const Var<double>& row) {
        const auto s = sub(a, b);       // a - b
        const auto t = add(s, row);     // (a - b) + row (broadcast: summed back to row's shape)
        const auto u = sub(t, a);       // - b + row
        const auto v = add(mul(u, u), add(a, a));
        return std::make_pair(sum(mul(v, t)), s);
    };
    const xt::xarray<double> av{{1, -2, 3}, {0.5, 4, -1}};
    const xt::xarray<double> bv{{2, 1, -3}, {1.5, -4, 2}};
    const xt::xarray<double> rv{{0.25, -0.5, 2}};
    xt::xarray<double> want_a, want_b, want_row;
    for (const bool keep : {true, false}) {
        CAPTURE(keep);
        Tape<double> tape;
        tape.set_keep_intermediate_grads(keep);
        const auto a = tape.leaf(av);
        const auto b = tape.leaf(bv);
        const auto row = tape.leaf(rv);
        const auto [total, s] = record(a, b, row);
        tape.backward(total);
        // The first sub's gradient went on to a unchanged: kept, or handed over.
        CHECK(s.has_grad() == keep);
        if (keep) {
            want_a = a.grad();
            want_b = b.grad();
            want_row = row.grad();
            continue;
        }
        CHECK(a.grad() == want_a);
        CHECK(b.grad() == want_b);
        CHECK(row.grad() == want_row);
    }
}

TEST_CASE("dot's gradient for a seed of 1 is the other input lent: never written, copied when added to or handed out") {
    const xt::xarray<double> vv{{1, 2}, {3, 4}};
    const xt::xarray<double> xv{{0.5, -1}, {2, 0}};
    Tape<double> tape;
    const auto x = tape.leaf(xv);
    const auto v = tape.constant(vv);
    // The sweep reaches dot first (recorded last): x's gradient is v, lent;
    // then sum's ones are added to it, in a copy.
    const auto s = sum(x);
    const auto d = dot(x, v);
    tape.backward(add(d, s));
    CHECK(x.grad() == vv + 1.0);
    CHECK(v.value() == vv);
    // A leaf accumulates across sweeps: into its own array, not v.
    tape.backward(dot(x, v));
    CHECK(x.grad() == 2.0 * vv + 1.0);
    CHECK(v.value() == vv);
    // Handed on through add to both leaves (no intermediate gradients kept),
    // then handed out by grad(): arrays of their own.
    tape.set_keep_intermediate_grads(false);
    const auto y = tape.leaf(xv);
    const std::vector<Var<double>> grads = grad(dot(add(x, y), v), {x, y});
    CHECK(grads[0].value() == vv);
    CHECK(grads[1].value() == vv);
    CHECK(grads[0].value().data() != v.value().data());
    CHECK(grads[1].value().data() != v.value().data());
    // A lent array's gradient, as an optimizer reads and writes it.
    Lendable<double> weights(xv);
    Tape<double> other;
    const auto w = other.borrow(weights);
    const auto u = other.constant(vv);
    other.backward(dot(w, u));
    REQUIRE(weights.grad() != nullptr);
    (*weights.grad())(0, 0) = 100;
    CHECK(u.value() == vv);
}

TEST_CASE("nodes no gradient reached are skipped and constants get none") {
    Tape<double> tape;
    auto x = tape.leaf(xt::xarray<double>{1});
    auto k = tape.constant(xt::xarray<double>{5});
    auto unused = exp(x);
    auto y = mul(x, k);
    tape.backward(y);
    CHECK_FALSE(unused.has_grad());
    CHECK_FALSE(k.has_grad());
    CHECK_FALSE(k.requires_grad());
    CHECK(x.grad()(0) == 5);
}

TEST_CASE("a handle from before clear throws instead of reading freed memory") {
    Tape<double> tape;
    auto x = tape.leaf(xt::xarray<double>{1, 2});
    tape.clear();
    CHECK(tape.size() == 0);
    CHECK_FALSE(x.valid());
    CHECK_THROWS_AS(x.value(), TapeError);
    CHECK_THROWS_AS(exp(x), TapeError);
    auto y = tape.leaf(xt::xarray<double>{3});
    CHECK(y.value()(0) == 3);
    CHECK_THROWS_WITH_AS(x.grad(), doctest::Contains("stale"), TapeError);
}

TEST_CASE("mixing variables of two tapes throws") {
    Tape<double> a, b;
    auto x = a.leaf(xt::xarray<double>{1});
    auto y = b.leaf(xt::xarray<double>{1});
    CHECK_THROWS_WITH_AS(add(x, y), doctest::Contains("add"), TapeError);
    CHECK_THROWS_AS(a.backward(y), TapeError);
}

TEST_CASE("the no-grad guard records values without gradients") {
    Tape<double> tape;
    auto x = tape.leaf(xt::xarray<double>{1});
    Var<double> y;
    {
        NoGradGuard<double> guard(tape);
        y = exp(x);
    }
    CHECK(y.value()(0) == doctest::Approx(std::exp(1.0)));
    CHECK_FALSE(y.requires_grad());
    CHECK(tape.grad_enabled());
    auto z = exp(x);
    CHECK(z.requires_grad());
}

TEST_CASE("the current tape is per thread and a scope selects another") {
    Tape<double> mine;
    {
        TapeScope<double> scope(mine);
        auto x = leaf<double>(xt::xarray<double>{1});
        CHECK(&x.tape() == &mine);
    }
    CHECK(&current_tape<double>() != &mine);
    Tape<double>* other = nullptr;
    std::thread([&] { other = &current_tape<double>(); }).join();
    CHECK(other != &current_tape<double>());
}

TEST_CASE("two threads with their own tapes never interfere") {
    auto work = [](double start, double* result) {
        Tape<double> tape;
        double total = 0;
        for (int step = 0; step < 2000; ++step) {
            auto x = tape.leaf(xt::xarray<double>{start, start + 1});
            auto y = sum(square(x));
            tape.backward(y);
            total += x.grad()(1);  // 2 (start + 1)
            tape.clear();
        }
        *result = total;
    };
    double r1 = 0, r2 = 0;
    std::thread t1(work, 1.0, &r1), t2(work, 5.0, &r2);
    t1.join();
    t2.join();
    CHECK(r1 == 2000 * 4.0);
    CHECK(r2 == 2000 * 12.0);
}

TEST_CASE_TEMPLATE("item gives the only element of a one-element value and refuses others", T, float, double) {
    Tape<T> tape;
    const auto x = tape.leaf(xt::xarray<T>{{1, 2}, {3, 4}});
    CHECK(sum(x).item() == T(10));
    CHECK(tape.leaf(xt::xarray<T>{T(2.5)}).item() == T(2.5));
    CHECK_THROWS_WITH_AS(x.item(), "Var::item: the value of shape (2, 2) has 4 elements, not one", ShapeError);
}

TEST_CASE("a value recorded early stays where it is while the tape grows over many nodes") {
    // backward functions and differentiable sweeps hold references to values
    // while they record further nodes: storage must never move.
    Tape<double> tape;
    for (int round = 0; round < 2; ++round) {  // on a fresh tape, then on reused nodes
        CAPTURE(round);
        const Var<double> x = tape.leaf(xt::xarray<double>{1.0, 2.0, 3.0});
        const xt::xarray<double>& value = x.value();
        const double* data = value.data();
        Var<double> y = x;
        for (int i = 0; i < 200; ++i) y = add(y, x);  // several blocks of nodes
        CHECK(&x.value() == &value);
        CHECK(x.value().data() == data);
        CHECK(value == xt::xarray<double>{1.0, 2.0, 3.0});
        CHECK(y.value() == xt::xarray<double>{201.0, 402.0, 603.0});
        tape.backward(sum(y));
        CHECK(x.grad() == xt::xarray<double>{201.0, 201.0, 201.0});
        tape.clear();
    }
}
