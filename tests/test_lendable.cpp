// Arrays lent to a tape as leaves without a copy (Tape::borrow, Lendable).
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "xtape/xtape.hpp"

using namespace xtape;

TEST_CASE_TEMPLATE("a borrowed leaf holds the lent array itself until clear() gives it back", T, float, double) {
    Lendable<T> w(xt::xarray<T>{1, 2, 3});
    const T* storage = w.get().data();
    CHECK(w.borrower() == nullptr);
    CHECK(w.grad() == nullptr);

    Tape<T> tape;
    const Var<T> leaf = tape.borrow(w);
    CHECK(w.borrower() == &tape);
    CHECK(w.leaf().index() == leaf.index());
    CHECK(leaf.value().data() == storage);  // no copy
    CHECK(w.get().data() == storage);
    CHECK(std::string(leaf.op()) == "leaf");
    CHECK(leaf.requires_grad());
    CHECK(w.grad() == nullptr);  // no backward yet

    tape.backward(sum(mul(leaf, leaf)));
    REQUIRE(w.grad() != nullptr);
    CHECK(*w.grad() == xt::xarray<T>{2, 4, 6});
    // An update through get() is the leaf's value: it is one array.
    w.get()(0) = 10;
    CHECK(leaf.value()(0) == 10);

    tape.clear();
    CHECK(w.borrower() == nullptr);
    CHECK(w.grad() == nullptr);
    CHECK(w.get().data() == storage);
    CHECK(w.get() == xt::xarray<T>{10, 2, 3});
    // Lent again on the next step, to the same tape.
    const Var<T> again = tape.borrow(w);
    CHECK(again.value().data() == storage);
}

TEST_CASE("a tape's destruction gives borrowed arrays back") {
    Lendable<double> w(xt::xarray<double>{{1, 2}, {3, 4}});
    const double* storage = w.get().data();
    for (int round = 0; round < 3; ++round) {
        Tape<double> tape;  // one address every round, as tapes on the stack in a loop
        tape.constant(xt::xarray<double>{7});
        const Var<double> leaf = tape.borrow(w);
        CHECK(leaf.index() == 1);
        CHECK(w.borrower() == &tape);
    }
    CHECK(w.borrower() == nullptr);
    CHECK(w.get().data() == storage);
    CHECK(w.get() == xt::xarray<double>{{1, 2}, {3, 4}});
}

TEST_CASE("an array is lent to one tape at a time") {
    Lendable<double> w(xt::xarray<double>{1});
    Tape<double> first, second;
    first.borrow(w);
    CHECK_THROWS_WITH_AS(first.borrow(w), doctest::Contains("already lent"), TapeError);
    CHECK_THROWS_AS(second.borrow(w), TapeError);
    CHECK(second.size() == 0);  // the failed borrow recorded nothing
}

TEST_CASE("reclaim takes the array back and leaves the tape a copy") {
    Lendable<double> w(xt::xarray<double>{2, -1});
    const double* storage = w.get().data();
    Tape<double> tape;
    const Var<double> leaf = tape.borrow(w);
    const Var<double> y = sum(mul(leaf, leaf));
    w.reclaim();
    CHECK(w.borrower() == nullptr);
    CHECK(w.get().data() == storage);
    CHECK(leaf.value().data() != storage);
    CHECK(leaf.value() == xt::xarray<double>{2, -1});
    // The tape still works on its copy, and the array no longer follows it.
    w.get()(0) = 100;
    tape.backward(y);
    CHECK(leaf.grad() == xt::xarray<double>{4, -2});
    CHECK(w.grad() == nullptr);
    tape.clear();
    CHECK(w.get() == xt::xarray<double>{100, -1});
    w.reclaim();  // not lent: nothing to do
    CHECK(w.get()(0) == 100);
}

TEST_CASE("a Lendable destroyed while lent leaves the tape the array") {
    Tape<double> tape;
    auto w = std::make_unique<Lendable<double>>(xt::xarray<double>{5, 6});
    const Var<double> leaf = tape.borrow(*w);
    w.reset();
    CHECK(leaf.value() == xt::xarray<double>{5, 6});
    tape.backward(sum(leaf));
    CHECK(leaf.grad() == xt::xarray<double>{1, 1});
    tape.clear();  // nothing to give back to (AddressSanitizer checks the tape writes to no freed memory)
    CHECK(tape.size() == 0);
}
