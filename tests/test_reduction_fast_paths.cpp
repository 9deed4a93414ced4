// The block-reduction kernels behind sum, mean, max, logsumexp and sum_to: values
// and gradients against xtensor over rows, columns, middle blocks and the
// non-contiguous axis sets that fall back to xtensor, float and double.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include "support/op_checks.hpp"
#include "../src/kernels/streaming_store.hpp"
#include "support/random_arrays.hpp"
#include "xtape/detail/sum_to.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

struct AxesCase {
    Shape shape;
    Axes axes;
};

// Rows (inner 1), columns (outer 1), a middle block, merged neighbouring axes,
// size-1 axes joining a block, every axis, a negative axis, rows longer than a
// SIMD block (2048) and columns longer than a row group (64) and wider than a
// column chunk (512); lengths not multiples of any SIMD width; and two
// non-contiguous sets that take xtensor's path.
const std::vector<AxesCase> axes_cases = {
    {{7, 37}, {1}},        {{3, 5, 19}, {1, 2}}, {{37, 7}, {0}},       {{19, 3, 5}, {0, 1}},
    {{3, 37, 5}, {1}},     {{2, 3, 4, 5}, {1, 2}}, {{3, 1, 5}, {0, 2}}, {{6, 7}, {}},
    {{4, 9}, {-1}},        {{2, 4101}, {1}},     {{131, 3}, {0}},      {{70, 515}, {0}},
    {{3, 4, 5}, {0, 2}},   {{2, 3, 4, 5}, {0, 2}}, {{60, 9}, {1}},  // short rows, several blocks of them
};

// The input's shape with the reduced axes as size 1.
Shape kept_shape(const Shape& in, const AxisList& axes) {
    Shape kept = in;
    for (std::size_t axis : axes) kept[axis] = 1;
    return kept;
}

// Runs op on x (converted to T) over c.axes with keepdims, backpropagates a
// random projection p of the output, and checks the value against want(x, axes)
// and x's gradient against want_grad(x, p, value), both computed by xtensor in
// double (p and value with the reduced axes kept as size 1).
template <class T, class Op, class Want, class WantGrad>
void check_against_xtensor(const AxesCase& c, const xt::xarray<double>& x, Op op, Want want, WantGrad want_grad,
                           double rtol) {
    const auto axes = normalize_axes(c.axes, c.shape.size(), "test");
    const Shape kept = kept_shape(c.shape, axes);
    Tape<T> tape;
    auto leaf = tape.leaf(as<T>(x));
    auto y = op(leaf, c.axes);
    const xt::xarray<double> p = random_array(y.shape(), 5, 0.5, 1.5);
    tape.backward(sum(mul(y, tape.constant(as<T>(p)))));
    xt::xarray<double> value = want(x, axes);
    value.reshape(kept);
    check_close<double>(as<double>(y.value()), value, rtol);
    const xt::xarray<double> p_kept = xt::reshape_view(p, kept);
    check_close<double>(as<double>(leaf.grad()), want_grad(x, p_kept, value), rtol);
}

template <class T>
constexpr double kernel_rtol = std::is_same_v<T, float> ? 2e-6 : 1e-13;

}  // namespace

TEST_CASE_TEMPLATE("sum and mean agree with xtensor over every geometry", T, float, double) {
    std::uint64_t seed = 11;
    for (const auto& c : axes_cases) {
        CAPTURE(to_string(c.shape));
        CAPTURE(c.axes.size());
        // Positive values: no cancellation, so a relative tolerance measures rounding.
        const auto x = random_array(c.shape, seed++, 0.5, 1.5);
        check_against_xtensor<T>(
            c, x, [](auto a, const Axes& axes) { return sum(a, axes, true); },
            [](const auto& v, const auto& axes) -> xt::xarray<double> { return xt::sum(v, axes); },
            [&](const auto&, const auto& p, const auto&) -> xt::xarray<double> { return xt::broadcast(p, c.shape); },
            kernel_rtol<T>);
        check_against_xtensor<T>(
            c, x, [](auto a, const Axes& axes) { return mean(a, axes, true); },
            [](const auto& v, const auto& axes) -> xt::xarray<double> { return xt::mean(v, axes); },
            [&](const auto& v, const auto& p, const auto&) -> xt::xarray<double> {
                return xt::broadcast(p, c.shape) * (double(p.size()) / double(v.size()));
            },
            kernel_rtol<T>);
    }
}

TEST_CASE_TEMPLATE("dot agrees with xtensor's sum(a * b) over every geometry, in value and both gradients", T,
                   float, double) {
    std::uint64_t seed = 41;
    for (const auto& c : axes_cases) {
        CAPTURE(to_string(c.shape));
        CAPTURE(c.axes.size());
        // Positive values: no cancellation, so a relative tolerance measures rounding.
        const auto x = random_array(c.shape, seed++, 0.5, 1.5);
        const auto y = random_array(c.shape, seed++, 0.5, 1.5);
        const auto axes = normalize_axes(c.axes, c.shape.size(), "test");
        Tape<T> tape;
        const auto a = tape.leaf(as<T>(x));
        const auto b = tape.leaf(as<T>(y));
        const auto d = dot(a, b, c.axes, true);
        const xt::xarray<double> p = random_array(d.shape(), 5, 0.5, 1.5);
        tape.backward(sum(mul(d, tape.constant(as<T>(p)))));
        const xt::xarray<double> want = xt::sum(x * y, axes, xt::keep_dims);
        check_close<double>(as<double>(d.value()), want, kernel_rtol<T>);
        const xt::xarray<double> p_broadcast = xt::broadcast(p, c.shape);
        const xt::xarray<double> want_da = p_broadcast * y;
        const xt::xarray<double> want_db = p_broadcast * x;
        check_close<double>(as<double>(a.grad()), want_da, kernel_rtol<T>);
        check_close<double>(as<double>(b.grad()), want_db, kernel_rtol<T>);
    }
}

TEST_CASE("dot passes gradcheck, keepdims or not, and with one input twice") {
    for (const AxesCase& c : {AxesCase{{3, 7, 5}, {1}}, AxesCase{{9, 4}, {0}}, AxesCase{{4, 9}, {-1}},
                              AxesCase{{3, 4, 5}, {0, 2}}, AxesCase{{2, 3}, {}}}) {
        for (bool keepdims : {false, true}) {
            CAPTURE(to_string(c.shape));
            CAPTURE(keepdims);
            const auto x = random_array(c.shape, 3, -2, 2);
            const auto y = random_array(c.shape, 4, -2, 2);
            check_op([&](auto&, const auto& v) { return dot(v[0], v[1], c.axes, keepdims); }, {x, y});
            check_op([&](auto&, const auto& v) { return dot(v[0], v[0], c.axes, keepdims); }, {x});
        }
    }
}

TEST_CASE("dot names itself and both shapes when they differ") {
    Tape<double> tape;
    const auto a = tape.leaf(xt::xarray<double>(xt::ones<double>({2, 3})));
    const auto b = tape.leaf(xt::xarray<double>(xt::ones<double>({3, 2})));
    CHECK_THROWS_WITH_AS(dot(a, b, {-1}), doctest::Contains("dot: a of shape (2, 3) and b of shape (3, 2) differ"),
                         ShapeError);
}

TEST_CASE_TEMPLATE("max and logsumexp agree with xtensor over every geometry", T, float, double) {
    std::uint64_t seed = 31;
    for (const auto& c : axes_cases) {
        CAPTURE(to_string(c.shape));
        CAPTURE(c.axes.size());
        const auto x = random_array(c.shape, seed++, -3, 3);  // continuous: no ties
        check_against_xtensor<T>(
            c, x, [](auto a, const Axes& axes) { return max(a, axes, true); },
            [](const auto& v, const auto& axes) -> xt::xarray<double> { return xt::amax(v, axes); },
            [&](const auto& v, const auto& p, const auto& m) -> xt::xarray<double> {
                return xt::where(xt::equal(v, m), xt::broadcast(p, c.shape), 0.0);
            },
            kernel_rtol<T>);
        check_against_xtensor<T>(
            c, x, [](auto a, const Axes& axes) { return logsumexp(a, axes, true); },
            [](const auto& v, const auto& axes) -> xt::xarray<double> { return xt::log(xt::sum(xt::exp(v), axes)); },
            [&](const auto& v, const auto& p, const auto& lse) -> xt::xarray<double> { return xt::exp(v - lse) * p; },
            // exp and log of float: a few ulp per term.
            std::is_same_v<T, float> ? 1e-5 : 1e-12);
    }
}

TEST_CASE("block reductions pass gradcheck, keepdims or not") {
    for (const AxesCase& c : {AxesCase{{3, 7, 5}, {1}}, AxesCase{{9, 4}, {0}}, AxesCase{{4, 9}, {-1}},
                              AxesCase{{3, 4, 5}, {0, 2}}}) {
        for (bool keepdims : {false, true}) {
            CAPTURE(to_string(c.shape));
            CAPTURE(keepdims);
            const auto x = random_array(c.shape, 3, -2, 2);
            check_op([&](auto&, const auto& v) { return sum(v[0], c.axes, keepdims); }, {x});
            check_op([&](auto&, const auto& v) { return mean(v[0], c.axes, keepdims); }, {x});
            check_op([&](auto&, const auto& v) { return max(v[0], c.axes, keepdims); }, {x});
            check_op([&](auto&, const auto& v) { return logsumexp(v[0], c.axes, keepdims); }, {x});
        }
    }
}

TEST_CASE_TEMPLATE("max gives the first maximal element the gradient in columns and middle blocks", T, float,
                   double) {
    Tape<T> tape;
    // Shape (2, 3, 2), reduced over axis 1: ties in three of the four slots.
    auto x = tape.leaf(xt::xarray<T>{{{1, 4}, {3, 4}, {3, 2}}, {{5, 0}, {5, 0}, {5, 1}}});
    tape.backward(sum(max(x, {1})));
    CHECK(x.grad() == xt::xarray<T>{{{0, 1}, {1, 0}, {0, 0}}, {{1, 0}, {0, 0}, {0, 1}}});
}

TEST_CASE_TEMPLATE("max and logsumexp of -inf and NaN slices agree on both paths", T, float, double) {
    const T inf = std::numeric_limits<T>::infinity();
    const T nan = std::numeric_limits<T>::quiet_NaN();
    // Slices along axis 1 (rows, the kernels) and axes {0, 2} of a (1-row) 3-D
    // reshape that cannot merge (xtensor): the same four slices each way.
    const xt::xarray<T> rows{{-inf, -inf, -inf, -inf, -inf}, {nan, 1, 2, 3, 4}, {1, 2, 3, 4, nan}, {1, 9, 2, 9, 3}};
    for (bool kernel_path : {true, false}) {
        CAPTURE(kernel_path);
        Tape<T> tape;
        xt::xarray<T> input = rows;
        Axes axes{1};
        if (!kernel_path) {
            // (5, 4, 2): slot j of axis 1 holds row j, duplicated along the last axis.
            input = xt::empty<T>({5, 4, 2});
            for (std::size_t r = 0; r < 5; ++r)
                for (std::size_t s = 0; s < 4; ++s) input(r, s, 0) = input(r, s, 1) = rows(s, r);
            axes = {0, 2};
        }
        auto x = tape.leaf(input);
        auto m = max(x, axes);
        auto lse = logsumexp(x, axes);
        CHECK(m.value()(0) == -inf);
        CHECK(std::isnan(m.value()(1)));
        CHECK(std::isnan(m.value()(2)));
        CHECK(m.value()(3) == T(9));
        CHECK(lse.value()(0) == -inf);
        CHECK(std::isnan(lse.value()(1)));
        tape.backward(sum(m));
        // The first -inf of the -inf slice, and the first 9.
        const xt::xarray<T> grad = x.grad();
        CHECK(kernel_path ? grad(0, 0) == T(1) : grad(0, 0, 0) == T(1));
        CHECK(xt::sum(grad)() == T(2));
    }
}

TEST_CASE("float sums of a million elements keep their rounding error small") {
    // Accumulated one by one, float would be off by 2e-3 (the total) and 1e-4 (a
    // column) here; lane-wise blocks (rows) and groups of rows (columns) added
    // pairwise stay near float's resolution.
    const std::size_t n = std::size_t(1) << 20, columns = 8;
    xt::xarray<float> x = xt::empty<float>({n / columns, columns});
    xt::xarray<double> exact = xt::zeros<double>({columns});
    for (std::size_t i = 0; i < n; ++i) {
        x.flat(i) = 0.1f + float(i % 7) * 0.01f;
        exact(i % columns) += double(x.flat(i));
    }
    Tape<float> tape;
    const double total = sum(tape.leaf(x)).value()();
    CHECK(std::abs(total - xt::sum(exact)()) <= 1e-6 * xt::sum(exact)());
    const xt::xarray<float> column_sums = sum(tape.leaf(x), {0}).value();
    for (std::size_t j = 0; j < columns; ++j) CHECK(std::abs(column_sums(j) - exact(j)) <= 1e-6 * exact(j));
}

TEST_CASE_TEMPLATE("sum_to reduces leading, size-1 and scattered axes as xtensor does", T, float, double) {
    struct SumToCase {
        Shape from;
        Shape target;
        std::vector<std::size_t> axes;  // of `from`, for xt::sum
    };
    const std::vector<SumToCase> cases = {
        {{4, 5, 6}, {5, 6}, {0}},       {{4, 5, 6}, {6}, {0, 1}},    {{7, 33}, {7, 1}, {1}},
        {{7, 33}, {1, 33}, {0}},        {{7, 33}, {}, {0, 1}},        {{3, 1, 5}, {1, 1, 5}, {0}},
        {{2, 4100}, {2, 1}, {1}},       {{300, 3}, {3}, {0}},         {{4, 5, 6}, {1, 5, 1}, {0, 2}},
        {{2, 4, 5, 6}, {4, 1, 6}, {0, 2}},
    };
    std::uint64_t seed = 51;
    for (const auto& c : cases) {
        CAPTURE(to_string(c.from));
        CAPTURE(to_string(c.target));
        const auto g = random_array(c.from, seed++, 0.5, 1.5);
        xt::xarray<double> want = xt::sum(g, c.axes);
        want.reshape(c.target);
        xt::xarray<T> got = xt::empty<T>(c.target);
        detail::sum_to(as<T>(g), got, "test");
        check_close<double>(as<double>(got), want, kernel_rtol<T>);
    }
}

TEST_CASE_TEMPLATE("logsumexp of rows larger than the caches: the gradient streamed to memory equals each row's "
                   "alone", T, float, double) {
    // Above kernels::streamed_output_bytes the gradient is staged and streamed;
    // a row alone is written in place. Rows shorter and longer than a staged
    // part, not a whole number of cache lines; weights as the incoming gradient.
    for (const Shape& shape : {Shape{1100, 1003}, Shape{260, 4101}}) {
        CAPTURE(to_string(shape));
        REQUIRE(shape[0] * shape[1] * sizeof(T) >= kernels::streamed_output_bytes);
        const auto x = random_array(shape, 41, -3, 3);
        const auto weights = random_array({shape[0], 1}, 42);
        const auto gradient = [](const xt::xarray<double>& values, const xt::xarray<double>& w) {
            Tape<T> tape;
            const auto v = tape.leaf(as<T>(values));
            tape.backward(sum(mul(logsumexp(v, {1}, true), tape.constant(as<T>(w)))));
            return xt::xarray<T>(v.grad());
        };
        const xt::xarray<T> whole = gradient(x, weights);
        for (const std::size_t row : {std::size_t(0), shape[0] / 2, shape[0] - 1}) {
            CAPTURE(row);
            const xt::xarray<double> x_row = xt::view(x, xt::range(row, row + 1), xt::all());
            const xt::xarray<double> w_row = xt::view(weights, xt::range(row, row + 1), xt::all());
            const xt::xarray<T> whole_row = xt::view(whole, xt::range(row, row + 1), xt::all());
            CHECK(whole_row == gradient(x_row, w_row));
        }
    }
}

TEST_CASE_TEMPLATE("logsumexp over rows: the softmax from the forward pass serves the first backward, a second one "
                   "recomputes", T, float, double) {
    // Rows shorter than a SIMD batch (one exp pass per block of rows) and longer.
    for (const Shape& shape : {Shape{7, 3}, Shape{5, 37}}) {
        CAPTURE(to_string(shape));
        const auto x = random_array(shape, 43, -3, 3);
        const auto w = random_array({shape[0], 1}, 44);
        xt::xarray<double> weighted_softmax = xt::exp(x);  // times w, row by row
        for (std::size_t i = 0; i < shape[0]; ++i) {
            auto row = xt::view(weighted_softmax, i, xt::all());
            const double total = xt::sum(row)();
            for (auto& e : row) e *= w(i, 0) / total;
        }
        Tape<T> tape;
        const auto v = tape.leaf(as<T>(x));
        const Var<T> total = sum(mul(logsumexp(v, {1}, true), tape.constant(as<T>(w))));
        tape.backward(total);
        check_close<T>(v.grad(), as<T>(weighted_softmax), kernel_rtol<T>, kernel_rtol<T>);
        tape.backward(total);
        check_close<T>(v.grad(), as<T>(xt::xarray<double>(2.0 * weighted_softmax)), kernel_rtol<T>, kernel_rtol<T>);
    }
}
