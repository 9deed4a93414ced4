// Chunked evaluation: same values and gradients as the plain graph, gradients checked, errors named.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>

#include "xtape/xtape.hpp"

#include "support/random_arrays.hpp"
#include "support/registry_walk.hpp"

using namespace xtape;

namespace {

// Row i: sum_j x_ij^2 w_j + b_i x_i0: a per-sample function with a whole input w.
template <class T>
Var<T> per_row(std::span<const Var<T>> in) {
    const Var<T> first = slice(in[0], -1, 0, 1);
    return add(sum(mul(square(in[0]), in[1]), {-1}), sum(mul(in[2], first), {-1}));
}

// The same function on a fresh tape, plainly or in chunks of `rows`; returns
// the value and the gradients of its three inputs after backward of sum(v * y).
// With `w_is_constant`, only inputs split by rows want gradients (chunked()
// then keeps per-sample gradient rows; else it recomputes in the backward).
template <class T>
std::vector<xt::xarray<T>> run(const xt::xarray<double>& x, const xt::xarray<double>& w, const xt::xarray<double>& b,
                               std::size_t rows, bool w_is_constant = false) {
    Tape<T> tape;
    const Var<T> weight = w_is_constant ? tape.constant(xt::cast<T>(w)) : tape.leaf(xt::cast<T>(w));
    const std::vector<Var<T>> in = {tape.leaf(xt::cast<T>(x)), weight, tape.leaf(xt::cast<T>(b))};
    const std::vector<Split> splits = {Split::rows, Split::whole, Split::rows};
    const Var<T> y = rows == 0 ? per_row<T>(in) : chunked<T>(per_row<T>, in, splits, rows);
    const xt::xarray<T> v = xt::arange<T>(1, static_cast<T>(y.size()) + 1);
    tape.backward(sum(mul(y, tape.constant(v))));
    return {y.value(), in[0].grad(), in[1].grad(), in[2].grad()};
}

}  // namespace

TEST_CASE_TEMPLATE("chunked: the values and gradients of the plain graph, for every chunk size", T, float, double) {
    const xt::xarray<double> x = test::random_array({10, 4}, 1, -2, 2);
    const xt::xarray<double> w = test::random_array({4}, 2, 0.5, 1.5);
    const xt::xarray<double> b = test::random_array({10, 1}, 3, -1, 1);
    const auto plain = run<T>(x, w, b, 0);
    for (std::size_t rows : {1, 3, 4, 9, 10, 64}) {
        INFO("rows per chunk: ", rows);
        const auto chunks = run<T>(x, w, b, rows);
        // Rows are computed by the same kernels either way; only w's gradient
        // is summed over chunks in another order.
        CHECK(chunks[0] == plain[0]);
        CHECK(chunks[1] == plain[1]);
        CHECK(chunks[3] == plain[3]);
        CHECK(xt::allclose(chunks[2], plain[2], std::is_same_v<T, float> ? 1e-6 : 1e-14, 0));
    }
}

TEST_CASE_TEMPLATE("chunked: per-sample gradient rows give the plain graph's gradients", T, float, double) {
    const xt::xarray<double> x = test::random_array({10, 4}, 11, -2, 2);
    const xt::xarray<double> w = test::random_array({4}, 12, 0.5, 1.5);
    const xt::xarray<double> b = test::random_array({10, 1}, 13, -1, 1);
    const auto plain = run<T>(x, w, b, 0, true);
    const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-14;
    for (std::size_t rows : {1, 3, 4, 9}) {
        INFO("rows per chunk: ", rows);
        const auto chunks = run<T>(x, w, b, rows, true);
        CHECK(chunks[0] == plain[0]);
        // g_i (dy_i/dx_i) instead of the chain run with seed g_i: equal up to rounding.
        CHECK(xt::allclose(chunks[1], plain[1], tolerance, tolerance));
        CHECK(xt::allclose(chunks[3], plain[3], tolerance, tolerance));
    }
}

TEST_CASE_TEMPLATE("chunked: inputs larger than the caches, their gradient rows streamed to memory, on either route", T,
                   float, double) {
    // x's gradient (and the per-sample rows) are above kernels::streamed_output_bytes;
    // rows are not a whole number of cache lines, so chunks start mid-line.
    const Shape shape = {1100, 1003};
    REQUIRE(shape[0] * shape[1] * sizeof(T) >= (std::size_t(4) << 20));
    const xt::xarray<double> x = test::random_array(shape, 21, -2, 2);
    const xt::xarray<double> w = test::random_array({shape[1]}, 22, 0.5, 1.5);
    const xt::xarray<double> b = test::random_array({shape[0], 1}, 23, -1, 1);
    // Rounding as in the test above, but row i's seed is i + 1 (up to 1100): in
    // column 0 two contributions of that size cancel, so the absolute tolerance
    // scales with the largest seed.
    const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-14;
    const double atol = tolerance * static_cast<double>(shape[0]);
    for (const bool w_is_constant : {false, true}) {
        INFO("w constant (per-sample rows): ", w_is_constant);
        const auto plain = run<T>(x, w, b, 0, w_is_constant);
        const auto chunks = run<T>(x, w, b, 37, w_is_constant);
        CHECK(chunks[0] == plain[0]);
        CHECK(xt::allclose(chunks[1], plain[1], tolerance, atol));
        CHECK(xt::allclose(chunks[3], plain[3], tolerance, atol));
    }
}

TEST_CASE("chunked: a second backward adds the same gradients again, on either route") {
    for (bool w_is_constant : {false, true}) {
        Tape<double> tape;
        const Var<double> w = w_is_constant ? tape.constant(xt::xarray<double>({1.0, 2.0, 3.0}))
                                            : tape.leaf(xt::xarray<double>({1.0, 2.0, 3.0}));
        const std::vector<Var<double>> in = {tape.leaf(test::random_array({6, 3}, 14, -1, 1)), w,
                                             tape.leaf(test::random_array({6, 1}, 15, -1, 1))};
        const std::vector<Split> splits = {Split::rows, Split::whole, Split::rows};
        const Var<double> total = sum(chunked<double>(per_row<double>, in, splits, 4));
        tape.backward(total);
        const xt::xarray<double> once = in[0].grad();
        tape.backward(total);
        INFO("w constant: ", w_is_constant);
        CHECK(xt::allclose(in[0].grad(), 2.0 * once));
    }
}

TEST_CASE("chunked: per-sample rows serve the first backward, a later one recomputes; unit and weighted seeds") {
    // d/dx of sum(y) and of sum(v * y), from the plain graph.
    const xt::xarray<double> x = test::random_array({6, 3}, 17, -1, 1);
    const xt::xarray<double> w = {1.0, 2.0, 3.0};
    const xt::xarray<double> b = test::random_array({6, 1}, 18, -1, 1);
    const xt::xarray<double> v = {3.0, -1.0, 0.5, 2.0, 1.0, -4.0};
    const auto gradient_of_x = [&](bool chunk, const std::vector<bool>& weighted_seeds) {
        Tape<double> tape;
        const std::vector<Var<double>> in = {tape.leaf(x), tape.constant(w), tape.leaf(b)};
        const std::vector<Split> splits = {Split::rows, Split::whole, Split::rows};
        const Var<double> y = chunk ? chunked<double>(per_row<double>, in, splits, 4) : per_row<double>(in);
        for (const bool weighted : weighted_seeds) {
            tape.backward(weighted ? sum(mul(y, tape.constant(v))) : sum(y));
        }
        return in[0].grad();
    };
    const xt::xarray<double> unit = gradient_of_x(false, {false});
    const xt::xarray<double> weighted = gradient_of_x(false, {true});
    CHECK(xt::allclose(gradient_of_x(true, {false}), unit, 1e-14, 1e-14));
    CHECK(xt::allclose(gradient_of_x(true, {true}), weighted, 1e-14, 1e-14));
    CHECK(xt::allclose(gradient_of_x(true, {false, true}), unit + weighted, 1e-14, 1e-14));
    CHECK(xt::allclose(gradient_of_x(true, {true, false}), unit + weighted, 1e-14, 1e-14));
    CHECK(xt::allclose(gradient_of_x(true, {true, true, true}), 3.0 * weighted, 1e-14, 1e-14));
}

TEST_CASE("chunked: several outputs per sample take the recomputing route, with the same gradients") {
    Tape<double> tape;
    const xt::xarray<double> x = test::random_array({7, 3}, 16, -1, 1);
    const Var<double> a = tape.leaf(x);
    const Var<double> w = tape.constant(xt::xarray<double>({0.5, -1.0, 2.0}));
    const auto scaled = [](std::span<const Var<double>> in) { return mul(square(in[0]), in[1]); };
    const std::vector<Var<double>> in = {a, w};
    const Var<double> y = chunked<double>(scaled, in, std::vector<Split>{Split::rows, Split::whole}, 2);
    tape.backward(sum(y));
    CHECK(y.shape() == Shape{7, 3});
    CHECK(xt::allclose(a.grad(), 2.0 * x * xt::xarray<double>({0.5, -1.0, 2.0})));
}

TEST_CASE("chunked: records one node, and calls the function plainly when one chunk holds the batch") {
    Tape<double> tape;
    const std::vector<Var<double>> in = {tape.leaf(test::random_array({6, 3}, 4, -1, 1)),
                                         tape.constant(xt::xarray<double>({1.0, 2.0, 3.0})),
                                         tape.leaf(test::random_array({6, 1}, 5, -1, 1))};
    const std::vector<Split> splits = {Split::rows, Split::whole, Split::rows};
    const std::size_t before = tape.size();
    const Var<double> y = chunked<double>(per_row<double>, in, splits, 4);
    CHECK(std::string(y.op()) == "chunked");
    CHECK(tape.size() == before + 1);
    CHECK(y.shape() == Shape{6});
    CHECK(std::string(chunked<double>(per_row<double>, in, splits, 6).op()) != "chunked");
}

TEST_CASE("chunked: gradcheck through the recomputing backward, chunks of 1, 2 and 3 samples") {
    for (std::size_t rows : {1, 2, 3}) {
        const auto f = [rows](Tape<double>&, const std::vector<Var<double>>& in) {
            const std::vector<Split> splits = {Split::rows, Split::whole, Split::rows};
            return chunked<double>(per_row<double>, in, splits, rows);
        };
        const GradcheckResult result = gradcheck(f, {{"x", test::random_array({7, 3}, 6, -2, 2)},
                                                     {"w", test::random_array({3}, 7, 0.5, 1.5)},
                                                     {"b", test::random_array({7, 1}, 8, -1, 1)}});
        INFO("rows ", rows, ": ", to_string(result));
        CHECK(result.passed);
        CHECK(result.checked == 7 * 3 + 3 + 7);
    }
}

TEST_CASE("chunked: bad arguments throw, naming chunked and the shapes, and record nothing") {
    Tape<double> tape;
    const Var<double> x = tape.leaf(xt::zeros<double>({5, 2}));
    const Var<double> short_rows = tape.leaf(xt::zeros<double>({4, 1}));
    const Var<double> scalar = tape.leaf(xt::xarray<double>(1.0));
    const auto identity = [](std::span<const Var<double>> in) { return in[0]; };
    const auto first_row = [](std::span<const Var<double>> in) { return slice(in[0], 0, 0, 1); };
    const std::size_t before = tape.size();
    const std::vector<Var<double>> one = {x};
    const std::vector<Split> rows = {Split::rows};
    CHECK_THROWS_WITH_AS(chunked<double>(identity, one, rows, 0), doctest::Contains("chunked: rows per chunk"),
                         ValueError);
    CHECK_THROWS_WITH_AS(chunked<double>(identity, one, std::vector<Split>{}, 2),
                         doctest::Contains("chunked: 0 splits given for 1 inputs"), ShapeError);
    CHECK_THROWS_WITH_AS(chunked<double>(identity, one, std::vector<Split>{Split::whole}, 2),
                         doctest::Contains("chunked: no input is split by rows"), ShapeError);
    const std::vector<Var<double>> two = {x, short_rows};
    CHECK_THROWS_WITH_AS(chunked<double>(identity, two, std::vector<Split>{Split::rows, Split::rows}, 2),
                         doctest::Contains("input 1 of shape (4, 1) has 4 rows, an earlier input has 5"), ShapeError);
    const std::vector<Var<double>> zero_d = {scalar};
    CHECK_THROWS_WITH_AS(chunked<double>(identity, zero_d, rows, 2), doctest::Contains("input 0 is 0-d"), ShapeError);
    CHECK_THROWS_WITH_AS(chunked<double>(first_row, one, rows, 2),
                         doctest::Contains("chunked: the function returned shape (1, 2) for a chunk of 2 samples"),
                         ShapeError);
    CHECK(tape.size() == before);
}

TEST_CASE("every registered loss: gradcheck with one sample per chunk, default options") {
    const ExecutionScope in_chunks(Execution::chunked);
    LossChunkingScope scope(1);
    for (const LossInfo& info : loss_registry()) {
        if (info.name == "CTCLoss") continue;
        for (const Shape& shape : info.check_shapes) {
            const ArrayMap<double> inputs = info.sample({}, shape, 29);
            std::vector<std::string> names;
            std::vector<GradcheckInput> leaves;
            for (const auto& [name, value] : inputs) {
                if (info.is_differentiable({}, name)) {
                    names.push_back(name);
                    leaves.push_back({name, value});
                }
            }
            const auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& vars) {
                return test::apply_on(tape, info, {}, inputs, names, vars);
            };
            const GradcheckResult result = gradcheck(f, leaves);
            INFO(info.name, " shape ", to_string(shape), ": ", to_string(result));
            CHECK(result.passed);
        }
    }
}

TEST_CASE("a large batch is evaluated in chunks: one node on the caller's tape") {
    // SoftmaxCrossEntropyLoss with dense labels: log_softmax, then a dot with the label.
    Tape<float> tape;
    const Var<float> pred = tape.leaf(xt::zeros<float>({64, 1024}));
    const Var<float> label = tape.constant(xt::ones<float>({64, 1024}) / 1024.0f);
    SoftmaxCrossEntropyLossOptions dense;
    dense.sparse_label = false;
    const SoftmaxCrossEntropyLoss<float> loss_fn(dense);
    const Var<float> loss = loss_fn(pred, label);
    CHECK(std::string(loss.op()) == "chunked");
    CHECK(tape.size() == 3);
    LossChunkingScope off(0);
    CHECK(std::string(loss_fn(pred, label).op()) != "chunked");
}
