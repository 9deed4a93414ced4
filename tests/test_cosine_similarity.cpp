// cosine_similarity: values against xtensor's formula, gradients, zero rows, a
// gradient streamed to memory, and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xview.hpp>

#include "../src/kernels/streaming_store.hpp"
#include "support/op_checks.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

// sum(a * b) / max(|a| |b|, eps) along the last axis, as Gluon writes it.
xt::xarray<double> gluon_cosine(const xt::xarray<double>& a, const xt::xarray<double>& b, double eps) {
    const std::size_t last = a.dimension() - 1;
    const xt::xarray<double> norms = xt::sqrt(xt::sum(a * a, {last})) * xt::sqrt(xt::sum(b * b, {last}));
    return xt::sum(a * b, {last}) / xt::maximum(norms, eps);
}

// Matrices, a 3-D array, a vector (0-d output), rows longer than a summation
// block (2048) and a row of one element.
const std::vector<Shape> shapes = {{5, 7}, {3, 4, 33}, {40}, {2, 5000}, {6, 1}};

}  // namespace

TEST_CASE_TEMPLATE("cosine_similarity matches sum(a * b) / max(|a| |b|, eps) along the last axis", T, float, double) {
    std::uint64_t seed = 60;
    for (const Shape& shape : shapes) {
        CAPTURE(to_string(shape));
        const auto a = random_array(shape, seed++);
        const auto b = random_array(shape, seed++);
        Tape<T> tape;
        const Var<T> cos = cosine_similarity(tape.leaf(as<T>(a)), tape.leaf(as<T>(b)));
        // Sums of products in another order: a few ulps of the sums.
        check_close<T>(cos.value(), as<T>(gluon_cosine(a, b, 1e-12)), 10 * forward_rtol<T>, 10 * forward_rtol<T>);
    }
}

TEST_CASE("cosine_similarity: gradients against finite differences, float against double") {
    std::uint64_t seed = 70;
    for (const Shape& shape : shapes) {
        CAPTURE(to_string(shape));
        // Entries at least 0.5 away from 0 (so every row is far from the eps
        // clamp): a row of one element has cos = +-1 and gradient 0, the
        // difference of two terms of size 1 / |a|, which float rounds at that size.
        check_op([](auto&, const auto& v) { return cosine_similarity(v[0], v[1]); },
                 {random_away_from(shape, seed, 0.0, 0.5), random_away_from(shape, seed + 1, 0.0, 0.5)});
        seed += 2;
    }
    // An eps that holds the denominator of every row: cos = ab / eps.
    check_op([](auto&, const auto& v) { return cosine_similarity(v[0], v[1], 10.0); },
             {random_array({3, 4}, 80), random_array({3, 4}, 81)});
}

TEST_CASE_TEMPLATE("cosine_similarity of a zero row is 0, with the finite gradient b / eps", T, float, double) {
    Tape<T> tape;
    const Var<T> a = tape.leaf(xt::xarray<T>{{0, 0, 0}, {1, 2, 2}});
    const Var<T> b = tape.leaf(xt::xarray<T>{{1, -2, 3}, {2, 1, 2}});
    const Var<T> cos = cosine_similarity(a, b, T(0.5));
    CHECK(cos.value() == xt::xarray<T>{0, T(8) / T(9)});
    tape.backward(sum(cos));
    const auto a_zero_row = xt::xarray<T>(xt::view(a.grad(), 0, xt::all()));
    const auto b_zero_row = xt::xarray<T>(xt::view(b.grad(), 0, xt::all()));
    CHECK(a_zero_row == xt::xarray<T>{2, -4, 6});
    CHECK(b_zero_row == xt::xarray<T>{0, 0, 0});
}

TEST_CASE("cosine_similarity: a gradient larger than the caches, streamed to memory, equals each row's alone") {
    // Above kernels::streamed_output_bytes both gradients are streamed; a row
    // alone is written in place. Rows not a whole number of cache lines.
    const Shape shape = {1100, 1003};
    REQUIRE(shape[0] * shape[1] * sizeof(double) >= kernels::streamed_output_bytes);
    const std::vector<xt::xarray<double>> inputs = {random_array(shape, 90), random_array(shape, 91)};
    const xt::xarray<double> weights = random_array({shape[0]}, 92);
    const auto gradients = [](const std::vector<xt::xarray<double>>& values, const xt::xarray<double>& w) {
        Tape<double> tape;
        const std::vector<Var<double>> v = leaves<double>(tape, values);
        tape.backward(sum(mul(cosine_similarity(v[0], v[1]), tape.constant(w))));
        return std::vector<xt::xarray<double>>{v[0].grad(), v[1].grad()};
    };
    const auto whole = gradients(inputs, weights);
    for (const std::size_t row : {std::size_t(0), shape[0] / 2, shape[0] - 1}) {
        CAPTURE(row);
        const auto row_of = [row](const xt::xarray<double>& x) -> xt::xarray<double> {
            return xt::view(x, xt::range(row, row + 1), xt::all());
        };
        const xt::xarray<double> weight = xt::view(weights, xt::range(row, row + 1));
        const auto alone = gradients({row_of(inputs[0]), row_of(inputs[1])}, weight);
        for (std::size_t k = 0; k < 2; ++k) CHECK(row_of(whole[k]) == alone[k]);
    }
}

TEST_CASE("cosine_similarity names the op and the shapes or eps at fault") {
    Tape<double> tape;
    const Var<double> a = tape.leaf(random_array({2, 3}, 1));
    const Var<double> b = tape.leaf(random_array({2, 4}, 2));
    const Var<double> scalar = tape.leaf(xt::xarray<double>(1.0));
    CHECK_THROWS_WITH_AS(cosine_similarity(a, b),
                         doctest::Contains("cosine_similarity: a of shape (2, 3) and b of shape (2, 4)"), ShapeError);
    CHECK_THROWS_AS(cosine_similarity(scalar, scalar), ShapeError);
    CHECK_THROWS_WITH_AS(cosine_similarity(a, a, -1.0), doctest::Contains("eps must be finite and at least 0, got -1"),
                         ValueError);
    CHECK_THROWS_AS(cosine_similarity(a, a, std::numeric_limits<double>::quiet_NaN()), ValueError);
    CHECK(tape.size() == 3);  // nothing recorded
}
