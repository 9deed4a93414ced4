// The traps a new user fell into, each now an error or the intended meaning.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>

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
