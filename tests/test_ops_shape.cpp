// Shape ops: forward against xtensor, gradients, float against double, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include "support/op_checks.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

// Checks `op`, a generic callable (const std::vector<Var<T>>&) -> Var<T>, against
// `want` (the expected forward value in double; the float value is compared to it
// at float's precision), then its gradient and float against double.
template <class Op>
void check_shape_op(Op op, const std::vector<xt::xarray<double>>& inputs, const xt::xarray<double>& want) {
    auto forward = [&]<class T>(Tape<T>& tape) {
        check_close<T>(op(leaves(tape, inputs)).value(), as<T>(want), forward_rtol<T>);
    };
    Tape<float> tf;
    Tape<double> td;
    forward(tf);
    forward(td);
    check_op([&](auto&, const auto& v) { return op(v); }, inputs);
}

}  // namespace

// ---- reshape, transpose, swapaxes ---------------------------------------------------

TEST_CASE("reshape keeps the elements in row-major order") {
    for (const auto& [from, to] : std::vector<std::pair<Shape, Shape>>{
             {{2, 3}, {3, 2}}, {{6}, {1, 2, 3}}, {{}, {1}}, {{1}, {}}, {{2, 3, 4}, {4, 6}}}) {
        CAPTURE(to_string(from));
        CAPTURE(to_string(to));
        const auto x = random_array(from, 1);
        check_shape_op([&](const auto& v) { return reshape(v[0], to); }, {x}, xt::reshape_view(x, to));
    }
    // Its output broadcast against another input: both gradients summed back.
    check_op([](auto&, const auto& v) { return reshape(v[0], Shape{3, 2}) * v[1]; },
             {random_array({6}, 2), random_array({2}, 3)});
}

TEST_CASE("reshape names the op and both shapes when the sizes differ") {
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({2, 3}));
    CHECK_THROWS_WITH_AS(reshape(x, Shape{4}),
                         "reshape: cannot reshape a of shape (2, 3) (6 elements) to shape (4,) (4 elements)",
                         ShapeError);
}

TEST_CASE("transpose permutes axes, reversing them by default") {
    const auto x = random_array({2, 3, 4}, 4);
    check_shape_op([](const auto& v) { return transpose(v[0]); }, {x}, xt::transpose(x));
    check_shape_op([](const auto& v) { return transpose(v[0], {1, 0, 2}); }, {x}, xt::transpose(x, {1, 0, 2}));
    check_shape_op([](const auto& v) { return transpose(v[0], {-1, 0, 1}); }, {x}, xt::transpose(x, {2, 0, 1}));
    const auto m = random_array({3, 2}, 5);
    check_shape_op([](const auto& v) { return transpose(v[0]); }, {m}, xt::transpose(m));
    // A matrix is copied in blocks of 8 x 8: whole ones and cut ones at both edges.
    const auto wide = random_array({70, 33}, 13);
    check_shape_op([](const auto& v) { return transpose(v[0]); }, {wide}, xt::transpose(wide));
    check_shape_op([](const auto& v) { return swapaxes(v[0], 1, 0); }, {wide}, xt::transpose(wide));
    const auto s = random_array({}, 6);
    check_shape_op([](const auto& v) { return transpose(v[0]); }, {s}, s);
    check_op([](auto&, const auto& v) { return transpose(v[0]) * v[1]; },
             {random_array({3, 2}, 7), random_array({3}, 8)});
}

TEST_CASE("transpose names the op, the permutation and the shape of a bad permutation") {
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({2, 3}));
    CHECK_THROWS_WITH_AS(transpose(x, {0}), "transpose: permutation (0) has 1 axes, a of shape (2, 3) has 2",
                         ShapeError);
    CHECK_THROWS_WITH_AS(transpose(x, {1, -1}),
                         "transpose: (1, -1) is not a permutation of the axes of a of shape (2, 3)", ShapeError);
    CHECK_THROWS_WITH_AS(transpose(x, {0, 2}), doctest::Contains("transpose: axis 2 is out of range"), ShapeError);
}

TEST_CASE("swapaxes exchanges two axes") {
    const auto x = random_array({2, 3, 4}, 9);
    check_shape_op([](const auto& v) { return swapaxes(v[0], 0, 2); }, {x}, xt::transpose(x, {2, 1, 0}));
    check_shape_op([](const auto& v) { return swapaxes(v[0], -1, 1); }, {x}, xt::transpose(x, {0, 2, 1}));
    const auto y = random_array({1}, 10);
    check_shape_op([](const auto& v) { return swapaxes(v[0], 0, 0); }, {y}, y);
    check_op([](auto&, const auto& v) { return swapaxes(v[0], 0, 1) + v[1]; },
             {random_array({2, 3}, 11), random_array({3, 1}, 12)});
    Tape<double> tape;
    auto z = tape.leaf(xt::zeros<double>({2, 3}));
    CHECK_THROWS_WITH_AS(swapaxes(z, 0, 2), "swapaxes: axis 2 is out of range for an array of rank 2", ShapeError);
    CHECK_THROWS_WITH_AS(swapaxes(z, -3, 0), doctest::Contains("swapaxes: axis -3"), ShapeError);
}

// ---- broadcast_to, slice --------------------------------------------------------

TEST_CASE("broadcast_to follows NumPy and sums the gradient back") {
    // Repeated along one block of axes (filled or copied by blocks): a column,
    // a row per sample, a scalar, a middle axis, leading axes; along none; and
    // along two blocks apart (xtensor's broadcast).
    for (const auto& [from, to] : std::vector<std::pair<Shape, Shape>>{
             {{3}, {2, 3}}, {{1, 3}, {4, 3}}, {{2, 1}, {2, 3}}, {{}, {2, 2}}, {{1}, {4}}, {{2, 1, 3}, {2, 4, 3}},
             {{3, 4}, {2, 3, 4}}, {{1}, {2, 1}}, {{2, 3}, {2, 3}}, {{1, 1}, {1, 1, 1}}, {{1, 3, 1}, {2, 3, 4}},
             {{3, 1}, {2, 3, 4}}}) {
        CAPTURE(to_string(from));
        CAPTURE(to_string(to));
        const auto x = random_array(from, 13);
        check_shape_op([&](const auto& v) { return broadcast_to(v[0], to); }, {x}, xt::broadcast(x, to));
    }
    // Empty results: nothing to write.
    for (const auto& [from, to] : std::vector<std::pair<Shape, Shape>>{{{1}, {0}}, {{0}, {2, 0}}, {{2, 1}, {2, 0}}}) {
        CAPTURE(to_string(from));
        Tape<float> tape;
        const Var<float> y = broadcast_to(tape.leaf(xt::ones<float>(from)), to);
        CHECK(y.shape() == to);
    }
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({2}));
    CHECK_THROWS_WITH_AS(broadcast_to(x, Shape{3}), "broadcast_to: a of shape (2,) does not broadcast to shape (3,)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(broadcast_to(x, Shape{}), doctest::Contains("to shape ()"), ShapeError);
}

TEST_CASE("slice takes start:stop:step along an axis") {
    const auto x = random_array({5, 4}, 14);
    check_shape_op([](const auto& v) { return slice(v[0], 0, 1, 4, 2); }, {x},
                   xt::view(x, xt::range(1, 4, 2), xt::all()));
    check_shape_op([](const auto& v) { return slice(v[0], -1, 0, 4, 3); }, {x},
                   xt::view(x, xt::all(), xt::range(0, 4, 3)));
    check_shape_op([](const auto& v) { return slice(v[0], 1, 2, 2); }, {x}, xt::view(x, xt::all(), xt::range(2, 2)));
    const auto one = random_array({1}, 15);
    check_shape_op([](const auto& v) { return slice(v[0], 0, 0, 1); }, {one}, one);
    check_op([](auto&, const auto& v) { return slice(v[0], 1, 1, 3) * v[1]; },
             {random_array({3, 4}, 16), random_array({}, 17)});
    // Rows of several elements (a leading or middle axis of a 3-d array), of
    // one (the last axis), and none selected.
    const auto cube = random_array({3, 5, 2}, 18);
    check_shape_op([](const auto& v) { return slice(v[0], 1, 1, 5, 2); }, {cube},
                   xt::view(cube, xt::all(), xt::range(1, 5, 2), xt::all()));
    check_shape_op([](const auto& v) { return slice(v[0], 0, 2, 3); }, {cube}, xt::view(cube, xt::range(2, 3)));
    check_shape_op([](const auto& v) { return slice(v[0], 2, 1, 2); }, {cube},
                   xt::view(cube, xt::all(), xt::all(), xt::range(1, 2)));
    check_shape_op([](const auto& v) { return slice(v[0], 1, 3, 3); }, {cube},
                   xt::view(cube, xt::all(), xt::range(3, 3), xt::all()));
}

TEST_CASE("slice names the op, the range and the shape when the range does not fit") {
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({5, 4}));
    CHECK_THROWS_WITH_AS(slice(x, 1, 2, 5),
                         "slice: range 2:5:1 does not fit axis 1 of size 4 (a of shape (5, 4)); need 0 <= start "
                         "<= stop <= size and step >= 1",
                         ShapeError);
    CHECK_THROWS_WITH_AS(slice(x, 0, 3, 2), doctest::Contains("slice: range 3:2:1"), ShapeError);
    CHECK_THROWS_WITH_AS(slice(x, 0, 0, 2, 0), doctest::Contains("slice: range 0:2:0"), ShapeError);
    CHECK_THROWS_WITH_AS(slice(x, 2, 0, 1), doctest::Contains("slice: axis 2 is out of range"), ShapeError);
    auto s = tape.leaf(xt::zeros<double>(Shape{}));
    CHECK_THROWS_WITH_AS(slice(s, 0, 0, 0), doctest::Contains("slice: axis 0 is out of range for an array of rank 0"),
                         ShapeError);
}

// ---- concat, stack --------------------------------------------------------------------

TEST_CASE("concat joins along an existing axis and splits the gradient back") {
    const auto a = random_array({2, 3}, 18), b = random_array({1, 3}, 19), c = random_array({4, 3}, 20);
    check_shape_op([](const auto& v) { return concat(v, 0); }, {a, b, c}, xt::concatenate(xt::xtuple(a, b, c), 0));
    const auto d = random_array({2, 1}, 21), e = random_array({2, 2}, 22);
    check_shape_op([](const auto& v) { return concat(v, -1); }, {d, e}, xt::concatenate(xt::xtuple(d, e), 1));
    const auto f = random_array({1}, 23), g = random_array({1}, 24);
    check_shape_op([](const auto& v) { return concat(v, 0); }, {f, g}, xt::concatenate(xt::xtuple(f, g), 0));
    // One part used twice gets both stretches of the gradient; another broadcasts after.
    check_op([](auto&, const auto& v) { return concat(std::vector{v[0], v[1], v[0]}, 1) * v[2]; },
             {random_array({2, 1}, 25), random_array({2, 2}, 26), random_array({4}, 27)});
}

TEST_CASE("concat names the op, the part and the shapes that do not fit") {
    Tape<double> tape;
    auto a = tape.leaf(xt::zeros<double>({2, 3}));
    auto b = tape.leaf(xt::zeros<double>({2, 4}));
    CHECK_THROWS_WITH_AS(concat(std::vector{a, b}, 0),
                         "concat: part 1 of shape (2, 4) does not match part 0 of shape (2, 3) except along axis 0",
                         ShapeError);
    CHECK_THROWS_WITH_AS(concat(std::vector{a, tape.leaf(xt::zeros<double>({6}))}, 0),
                         doctest::Contains("concat: part 1 of shape (6,)"), ShapeError);
    CHECK_THROWS_WITH_AS(concat(std::vector<Var<double>>{}, 0), "concat: needs at least one array, got none",
                         ShapeError);
    CHECK_THROWS_WITH_AS(concat(std::vector{a, b}, 2), doctest::Contains("concat: axis 2 is out of range"),
                         ShapeError);
    Tape<double> other;
    CHECK_THROWS_WITH_AS(concat(std::vector{a, other.leaf(xt::zeros<double>({2, 3}))}, 0),
                         doctest::Contains("concat"), TapeError);
}

TEST_CASE("stack joins along a new axis") {
    const auto a = random_array({2, 3}, 28), b = random_array({2, 3}, 29);
    check_shape_op([](const auto& v) { return stack(v, 0); }, {a, b}, xt::stack(xt::xtuple(a, b), 0));
    check_shape_op([](const auto& v) { return stack(v, 2); }, {a, b}, xt::stack(xt::xtuple(a, b), 2));
    check_shape_op([](const auto& v) { return stack(v, -2); }, {a, b}, xt::stack(xt::xtuple(a, b), 1));
    const auto s = random_array({}, 30), t = random_array({}, 31), u = random_array({}, 32);
    check_shape_op([](const auto& v) { return stack(v, 0); }, {s, t, u}, xt::xarray<double>{s(), t(), u()});
    check_op([](auto&, const auto& v) { return stack(std::vector{v[0], v[1]}, 1) * v[2]; },
             {a, b, random_array({2, 1, 1}, 33)});
}

TEST_CASE("stack names the op, the part and the shapes that differ") {
    Tape<double> tape;
    auto a = tape.leaf(xt::zeros<double>({2, 3}));
    auto b = tape.leaf(xt::zeros<double>({3, 2}));
    CHECK_THROWS_WITH_AS(stack(std::vector{a, b}, 0), "stack: part 1 of shape (3, 2) differs from part 0 of shape (2, 3)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(stack(std::vector{a, a}, 3), "stack: axis 3 is out of range for an array of rank 3",
                         ShapeError);
    CHECK_THROWS_WITH_AS(stack(std::vector<Var<double>>{}, 0), "stack: needs at least one array, got none", ShapeError);
}

// ---- gather, pick -----------------------------------------------------------------------

TEST_CASE("gather takes along an axis and scatter-adds the gradient") {
    const auto x = random_array({3, 4}, 34);
    const IndexArray along1{{3, 3}, {0, 2}, {1, 1}};  // (3, 2); repeats get both gradients
    xt::xarray<double> want1 = xt::empty<double>(Shape{3, 2});
    for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 2; ++j) want1(i, j) = x(i, static_cast<std::size_t>(along1(i, j)));
    }
    check_shape_op([&](const auto& v) { return gather(v[0], along1, 1); }, {x}, want1);

    const IndexArray along0{{2, 0, 1, 2}};  // (1, 4)
    xt::xarray<double> want0 = xt::empty<double>(Shape{1, 4});
    for (std::size_t j = 0; j < 4; ++j) want0(0, j) = x(static_cast<std::size_t>(along0(0, j)), j);
    check_shape_op([&](const auto& v) { return gather(v[0], along0, 0); }, {x}, want0);

    const auto y = random_array({1}, 35);
    check_shape_op([](const auto& v) { return gather(v[0], IndexArray{0, 0, 0}, 0); }, {y},
                   xt::xarray<double>{y(0), y(0), y(0)});
    check_op([&](auto&, const auto& v) { return gather(v[0], along1, -1) * v[1]; }, {x, random_array({2}, 36)});

    Tape<double> tape;
    auto a = tape.leaf(xt::xarray<double>{10, 20, 30});
    tape.backward(sum(gather(a, IndexArray{2, 2, 0}, 0)));
    CHECK(a.grad() == xt::xarray<double>{1, 0, 2});
}

TEST_CASE("gather names the op, the offending index, its position and the shapes") {
    Tape<double> tape;
    auto x = tape.leaf(xt::zeros<double>({3, 4}));
    CHECK_THROWS_WITH_AS(gather(x, IndexArray{{0, 1}, {4, 0}, {0, 0}}, 1),
                         "gather: index 4 at [1, 0] is out of range [0, 4) for axis 1 of a of shape (3, 4)",
                         ValueError);
    CHECK_THROWS_WITH_AS(gather(x, IndexArray{{0, 1}, {0, -1}, {0, 0}}, 1),
                         doctest::Contains("gather: index -1 at [1, 1] is out of range"), ValueError);
    CHECK_THROWS_WITH_AS(gather(x, IndexArray{{0, 1}, {0, 1}}, 1),
                         "gather: index of shape (2, 2) must have the shape of a (3, 4) except along axis 1",
                         ShapeError);
    CHECK_THROWS_WITH_AS(gather(x, IndexArray{0, 1, 2}, 0), doctest::Contains("gather: index of shape (3,)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(gather(x, tape.constant(xt::xarray<double>{{0, 1}, {0, 0.5}, {0, 0}}), 1),
                         "gather: index 0.5 at [1, 1] is not a whole number", ValueError);
}

TEST_CASE("pick takes one element per slice, keeping the axis on request") {
    const auto x = random_array({3, 4}, 37);
    const IndexArray rows{3, 0, 2};
    const xt::xarray<double> want{x(0, 3), x(1, 0), x(2, 2)};
    check_shape_op([&](const auto& v) { return pick(v[0], rows, 1); }, {x}, want);
    check_shape_op([&](const auto& v) { return pick(v[0], rows, -1, true); }, {x}, xt::reshape_view(want, {3, 1}));
    // An index with the axis kept as size 1 (a Gluon label of shape (N, 1)).
    const IndexArray kept = xt::reshape_view(rows, {3, 1});
    check_shape_op([&](const auto& v) { return pick(v[0], kept, 1); }, {x}, want);

    const IndexArray columns{2, 0, 1, 1};
    check_shape_op([&](const auto& v) { return pick(v[0], columns, 0); }, {x},
                   xt::xarray<double>{x(2, 0), x(0, 1), x(1, 2), x(1, 3)});

    const auto cube = random_array({2, 3, 4}, 38);
    const IndexArray middle{{0, 2, 1, 0}, {1, 1, 2, 0}};  // (2, 4)
    xt::xarray<double> want3 = xt::empty<double>(Shape{2, 4});
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t k = 0; k < 4; ++k) want3(i, k) = cube(i, static_cast<std::size_t>(middle(i, k)), k);
    }
    check_shape_op([&](const auto& v) { return pick(v[0], middle, 1); }, {cube}, want3);

    const auto vec = random_array({5}, 39);  // a 0-d index picks a 0-d result
    check_shape_op([](const auto& v) { return pick(v[0], IndexArray(3), 0); }, {vec}, xt::xarray<double>(vec(3)));
    check_op([&](auto&, const auto& v) { return pick(v[0], rows, 1, true) * v[1]; }, {x, random_array({2}, 40)});

    // Indices held in a variable (a label), as whole numbers.
    Tape<double> tape;
    auto a = tape.leaf(x);
    auto picked = pick(a, tape.constant(xt::xarray<double>{3, 0, 2}), 1);
    check_close<double>(picked.value(), want);
    tape.backward(sum(picked));
    CHECK(a.grad() == xt::xarray<double>{{0, 0, 0, 1}, {1, 0, 0, 0}, {0, 0, 1, 0}});
}

TEST_CASE("pick adds its sparse gradient to one already there, or to zeros") {
    // x feeds pick and a dense op; whichever backward runs first, the gradient is 2 + one-hot.
    const xt::xarray<double> x{{1, 2, 3}, {4, 5, 6}};
    const IndexArray index{2, 0};
    const xt::xarray<double> want{{2, 2, 3}, {3, 2, 2}};
    for (const bool pick_first : {true, false}) {
        CAPTURE(pick_first);
        Tape<double> tape;
        const auto a = tape.leaf(x);
        Var<double> picked, doubled;
        if (pick_first) {
            picked = pick(a, index, 1);
            doubled = mul(a, 2.0);
        } else {
            doubled = mul(a, 2.0);
            picked = pick(a, index, 1);
        }
        tape.backward(add(sum(picked), sum(doubled)));
        CHECK(a.grad() == want);
    }
}

TEST_CASE_TEMPLATE("pick names the op, the offending index, its position and the shapes", T, float, double) {
    Tape<T> tape;
    auto x = tape.leaf(xt::zeros<T>({3, 4}));
    CHECK_THROWS_WITH_AS(pick(x, IndexArray{0, 4, 1}, 1),
                         "pick: index 4 at [1] is out of range [0, 4) for axis 1 of a of shape (3, 4)", ValueError);
    CHECK_THROWS_WITH_AS(pick(x, IndexArray{0, 1, -2}, 1), doctest::Contains("pick: index -2 at [2] is out of range"),
                         ValueError);
    CHECK_THROWS_WITH_AS(pick(x, IndexArray{0, 1}, 1),
                         "pick: index of shape (2,) must have shape (3,) or (3, 1) (a of shape (3, 4) without axis "
                         "1, or with it of size 1)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(pick(x, IndexArray{0, 1, 2}, 2), doctest::Contains("pick: axis 2 is out of range"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(pick(x, tape.constant(xt::xarray<T>{0, T(1.5), 1}), 1),
                         "pick: index 1.5 at [1] is not a whole number", ValueError);
    CHECK_THROWS_WITH_AS(pick(x, tape.constant(xt::xarray<T>{0, 1, std::numeric_limits<T>::quiet_NaN()}), 1),
                         "pick: index nan at [2] is not a whole number", ValueError);
    CHECK_THROWS_WITH_AS(pick(x, tape.constant(xt::xarray<T>{0, T(1e30), 1}), 1),
                         "pick: index 1e+30 at [1] is too large to be an index", ValueError);
    CHECK_THROWS_WITH_AS(pick(x, tape.constant(xt::xarray<T>{0, 7, 1}), 1),
                         doctest::Contains("pick: index 7 at [1] is out of range [0, 4)"), ValueError);
}

TEST_CASE_TEMPLATE("argmax: the first maximal element along an axis, a NaN counting as the largest", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    Tape<T> tape;
    const auto x = tape.leaf(xt::xarray<T>{{1, 3, 3, 2}, {5, nan, 7, nan}, {-1, -1, -2, -3}});
    CHECK(argmax(x, 1) == IndexArray{1, 1, 0});
    CHECK(argmax(x, 0) == IndexArray{1, 1, 1, 1});
    CHECK(argmax(x, -1) == argmax(x, 1));
    const auto cube = tape.leaf(as<T>(random_array({2, 3, 4}, 5)));
    const IndexArray middle = argmax(cube, 1);
    REQUIRE(middle.shape() == Shape{2, 4});
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t k = 0; k < 4; ++k) {
            const auto column = xt::eval(xt::view(cube.value(), i, xt::all(), k));
            CHECK(middle(i, k) == static_cast<std::int64_t>(xt::argmax(column)()));
        }
    }
    CHECK_THROWS_WITH_AS(argmax(x, 2), "argmax: axis 2 is out of range for an array of rank 2", ShapeError);
    const auto empty = tape.leaf(xt::xarray<T>(xt::zeros<T>({2, 0})));
    CHECK_THROWS_WITH_AS(argmax(empty, 1), "argmax: axis 1 of shape (2, 0) is empty", ShapeError);
}

TEST_CASE_TEMPLATE("one_hot: a constant of rows with a 1 at each index", T, float, double) {
    Tape<T> tape;
    const auto labels = tape.constant(xt::xarray<T>{{2, 0}, {1, 2}});
    const auto rows = one_hot(labels, 3);
    CHECK_FALSE(rows.requires_grad());
    CHECK(rows.value() == xt::xarray<T>{{{0, 0, 1}, {1, 0, 0}}, {{0, 1, 0}, {0, 0, 1}}});
    // pick of a matrix is the sum of its product with the one-hot rows.
    const auto scores = tape.leaf(as<T>(random_array({4, 5}, 3)));
    const auto picked = tape.constant(xt::xarray<T>{4, 0, 3, 3});
    check_close<T>(sum(scores * one_hot(picked, 5), {1}).value(), pick(scores, picked, 1).value(), 0);
    CHECK_THROWS_WITH_AS(one_hot(labels, 2), "one_hot: index 2 at [0, 0] is outside [0, 2)", ValueError);
    CHECK_THROWS_WITH_AS(one_hot(tape.constant(xt::xarray<T>{T(0.5)}), 2), doctest::Contains("one_hot: index 0.5"),
                         ValueError);
    CHECK_THROWS_WITH_AS(one_hot(labels, 0), "one_hot: depth must be positive, got 0", ValueError);
}
