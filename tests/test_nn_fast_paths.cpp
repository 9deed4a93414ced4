// The fused row kernels of log_softmax and softmax (a contiguous last axis)
// against the general xtensor path (an axis with elements after it), and reshape.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>

#include <xtensor/xview.hpp>

#include "support/op_checks.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

using SoftmaxLike = std::function<Var<double>(const Var<double>&, std::ptrdiff_t)>;

// Rows x n logits in [-3, 3); for n >= 3 row 0 has a -inf entry, row 1 two of
// them, and the last row is all -inf (the shift is then 0 and the row NaN).
template <class T>
xt::xarray<T> logits_with_infinities(std::size_t rows, std::size_t n, std::uint64_t seed) {
    xt::xarray<T> x = as<T>(random_array({rows, n}, seed, -3, 3));
    if (n < 3) return x;
    const T inf = std::numeric_limits<T>::infinity();
    x(0, n / 2) = -inf;
    x(1, 0) = -inf;
    x(1, n - 1) = -inf;
    for (std::size_t j = 0; j < n; ++j) x(rows - 1, j) = -inf;
    return x;
}

// The value of op along the rows of `x`, and the gradient of x for the seed `g`,
// by the fused path (axis -1) or through the general one: op along axis 0 of
// the transpose, whose elements along the axis are `rows` apart.
template <class T, class Op>
std::pair<xt::xarray<T>, xt::xarray<T>> value_and_grad(Op op, const xt::xarray<T>& x, const xt::xarray<T>& g,
                                                       bool fused) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(x);
    const Var<T> y = fused ? op(a, -1) : transpose(op(transpose(a), 0));
    tape.backward(y, g);
    return {y.value(), a.grad()};
}

template <class T, class Op>
void check_fused_matches_general(Op op) {
    // Float's error in a value or gradient of a few units is ~1e-6 of the
    // values' scale (|x| <= 3, sums of up to 1024 gradients).
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    std::uint64_t seed = 100;
    for (const std::size_t n : {1, 3, 7, 17, 1024}) {
        CAPTURE(n);
        const std::size_t rows = n == 1024 ? 3 : 5;
        const xt::xarray<T> x = logits_with_infinities<T>(rows, n, seed++);
        const xt::xarray<T> g = as<T>(random_array({rows, n}, seed++));
        const auto [fused_value, fused_grad] = value_and_grad(op, x, g, true);
        const auto [general_value, general_grad] = value_and_grad(op, x, g, false);
        check_close<T>(fused_value, general_value, tol, tol);
        check_close<T>(fused_grad, general_grad, tol, tol);
    }
}

}  // namespace

TEST_CASE_TEMPLATE("log_softmax along contiguous rows matches the general path", T, float, double) {
    check_fused_matches_general<T>([](const Var<T>& a, std::ptrdiff_t axis) { return log_softmax(a, axis); });
}

TEST_CASE_TEMPLATE("softmax along contiguous rows matches the general path", T, float, double) {
    check_fused_matches_general<T>([](const Var<T>& a, std::ptrdiff_t axis) { return softmax(a, axis); });
}

TEST_CASE_TEMPLATE("fused log_softmax keeps -inf entries at -inf with the gradient passing through", T, float,
                   double) {
    const T inf = std::numeric_limits<T>::infinity();
    Tape<T> tape;
    const Var<T> x = tape.leaf(xt::xarray<T>{{0, -inf, 0, 0, 0}, {-inf, -inf, -inf, -inf, -inf}});
    const Var<T> lp = log_softmax(x, -1);
    CHECK(lp.value()(0, 1) == -inf);
    CHECK(lp.value()(0, 0) == doctest::Approx(-std::log(4.0)));
    CHECK(std::isnan(lp.value()(1, 0)));  // as the general path: -inf - log(0)
    tape.backward(lp, xt::xarray<T>{{1, 2, 0, 0, 0}, {0, 0, 0, 0, 0}});
    // g - softmax * sum(g): softmax is 1/4 on the finite entries, 0 at -inf.
    check_close<T>(xt::xarray<T>(xt::view(x.grad(), 0)), xt::xarray<T>{T(0.25), 2, T(-0.75), T(-0.75), T(-0.75)},
                   forward_rtol<T>);
}

TEST_CASE("fused log_softmax and softmax pass gradcheck on rows of odd length") {
    for (const Shape& shape : {Shape{4, 1}, Shape{3, 7}, Shape{2, 3, 17}}) {
        CAPTURE(to_string(shape));
        check_op([](auto&, const auto& v) { return log_softmax(v[0], -1); }, {random_array(shape, 7, -3, 3)});
        check_op([](auto&, const auto& v) { return softmax(v[0], -1); }, {random_array(shape, 8, -3, 3)});
    }
}

TEST_CASE_TEMPLATE("reshape's gradient comes back in the input's shape, added to others", T, float, double) {
    Tape<T> tape;
    const Var<T> x = tape.leaf(as<T>(random_array({2, 6}, 9)));
    const Var<T> y = reshape(x, Shape{3, 2, 2});
    xt::xarray<T> same_elements = x.value();
    same_elements.reshape({3, 2, 2});
    CHECK(y.value() == same_elements);
    // x reaches the loss twice: through this reshape (weighted by seed) and another.
    const xt::xarray<T> seed = as<T>(random_array({3, 2, 2}, 10));
    tape.backward(add(sum(mul(y, tape.constant(seed))), sum(reshape(x, Shape{12}))));
    xt::xarray<T> want = seed;
    want.reshape({2, 6});
    want += T(1);
    check_close<T>(x.grad(), want, forward_rtol<T>);
}
