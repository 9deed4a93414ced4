// Fused elementwise expressions: the same values and gradients as their primitives one by one, and errors.
#include <doctest/doctest.h>

#include <limits>

#include <xtensor/xview.hpp>

#include "../src/kernels/streaming_store.hpp"
#include "support/op_checks.hpp"
#include "support/random_arrays.hpp"

using namespace xtape;
using namespace xtape::test;

namespace {

// Every primitive of fuse.hpp, with x used four times and the kinks of relu
// and abs at y = 0.2; written once for Vars (applied one by one) and for fused
// expressions. On x, y, z in [-1, 1] every log argument is positive
// (smooth_l1's kinks at z = +-0.3 have no jump in the derivative).
const auto every_primitive = [](const auto& v) {
    const auto& x = v[0];
    const auto& y = v[1];
    const auto& z = v[2];
    const auto t = softplus(x) - x * y;
    const auto u = relu(y - 0.2) + square(z * 0.5) + (2.5 - y);
    const auto w = exp(-z) + log(x * x + 1.0) + smooth_l1(z, 0.3) + abs(y - 0.2);
    return t * u + w;
};

// The other primitives of fuse.hpp (each one rule, as in every_primitive):
// positive arguments where the primitive wants them (p >= 1), and every kink
// at y = 0.2, which y keeps away from.
const auto more_primitives = [](const auto& v) {
    const auto& x = v[0];
    const auto& y = v[1];
    const auto& z = v[2];
    const auto p = x * x + 1.0;
    const auto kinked = y - 0.2;
    const auto a = sigmoid(x) * tanh(y) + sqrt(p) / (z * z + 0.5) + pow(p, 1.5) + pow(p, y) + 2.0 / p + p / 3.0;
    const auto b = maximum(kinked, z * 0.0) - minimum(kinked, 0.0) + maximum(kinked, 0.0) + minimum(kinked, x * 0.0) +
                   log1p(p) + clip(kinked, -2.0, 0.0);
    const auto c = log_sigmoid(z) + sin(x) * cos(y) + erf(z) + normal_cdf(y) + gelu(x) + leaky_relu(kinked, 0.1) +
                   elu(kinked, 0.7);
    return a * b + c;
};

// x's gradient sums four contributions of order 1 (inputs in [-1, 1]) that
// may cancel. The fused sweep adds each one in its own pass, with an FMA where
// the compiler contracts one, and the ops one by one round each first: besides
// the relative tolerance, an absolute one of a few ulps of 1.
template <class T>
constexpr double contribution_atol = 16 * std::numeric_limits<T>::epsilon();

// The shapes of the inputs: within one tile, several tiles and a tail, 0-d.
const std::vector<Shape> shapes = {{3, 4}, {2500}, {}};

std::vector<xt::xarray<double>> sample_inputs(const Shape& shape, std::uint64_t seed) {
    return {random_array(shape, seed), random_away_from(shape, seed + 1, 0.2, 0.01), random_array(shape, seed + 2)};
}

}  // namespace

namespace {

// fuse(expression) against its primitives applied one by one, on each of `shapes`.
template <class T, class Expression>
void check_against_one_by_one(const Expression& expression, std::uint64_t seed) {
    for (const Shape& shape : shapes) {
        CAPTURE(to_string(shape));
        const auto inputs = sample_inputs(shape, seed);
        seed += 3;
        const xt::xarray<double> weights = random_array(shape, seed++, 0.5, 1.5);
        auto run = [&](bool fused) {
            Tape<T> tape;
            const auto xs = leaves(tape, inputs);
            const Var<T> y = fused ? fuse<T>(xs, expression) : expression(xs);
            CHECK(std::string(y.op()) == (fused ? "fuse" : "add"));
            tape.backward(y, as<T>(weights));
            std::vector<xt::xarray<T>> out{y.value()};
            for (const Var<T>& x : xs) out.push_back(x.grad());
            return out;
        };
        const auto fused = run(true);
        const auto one_by_one = run(false);
        // Values bitwise; gradients to the rounding of x's four contributions (contribution_atol).
        CHECK(fused[0] == one_by_one[0]);
        for (std::size_t k = 1; k < fused.size(); ++k) {
            check_close<T>(fused[k], one_by_one[k], 4 * forward_rtol<T>, contribution_atol<T>);
        }
    }
}

}  // namespace

TEST_CASE_TEMPLATE("fuse: the values and gradients of its primitives applied one by one", T, float, double) {
    SUBCASE("every_primitive") { check_against_one_by_one<T>(every_primitive, 1); }
    SUBCASE("more_primitives") { check_against_one_by_one<T>(more_primitives, 11); }
}

TEST_CASE("fuse: gradients against finite differences, float against double") {
    std::uint64_t seed = 20;
    // As `shapes`, with the multi-tile case just over one tile: finite differences cost size^2.
    for (const Shape& shape : {Shape{3, 4}, Shape{1100}, Shape{}}) {
        CAPTURE(to_string(shape));
        check_op([](auto&, const auto& v) { return fuse(std::span(v), every_primitive); }, sample_inputs(shape, seed));
        check_op([](auto&, const auto& v) { return fuse(std::span(v), more_primitives); }, sample_inputs(shape, seed));
        seed += 3;
    }
}

TEST_CASE("fuse: an input used twice by one primitive, and an expression that is an input") {
    Tape<double> tape;
    const auto x = tape.leaf(xt::xarray<double>{1.5, -2.0, 3.0});
    const auto y = tape.leaf(xt::xarray<double>{4.0, 5.0, 6.0});
    const Var<double> product = fuse({x, y}, [](auto v) { return v[0] * v[0]; });
    const Var<double> same = fuse({x, y}, [](auto v) { return v[1]; });
    CHECK(product.value() == xt::xarray<double>{2.25, 4.0, 9.0});
    CHECK(same.value() == y.value());
    tape.backward(sum(add(product, mul(same, 3.0))));
    CHECK(x.grad() == xt::xarray<double>{3.0, -4.0, 6.0});  // 2x
    CHECK(y.grad() == xt::xarray<double>{3.0, 3.0, 3.0});
}

// a = 2x reaches the output through a + a*y: its adjoint is first the
// incoming gradient itself (a copy, taken without a pass), then a*y's
// contribution is added to it, which must not write into the incoming gradient.
TEST_CASE("fuse: an intermediate whose adjoint starts as the incoming gradient and then grows") {
    const auto expression = [](auto v) {
        const auto a = v[0] * 2.0;
        return a + a * v[1];
    };
    const Shape shape{3, 1100};  // several tiles, and rows longer than one
    const xt::xarray<double> x = random_array(shape, 70), y = random_array(shape, 71);
    const xt::xarray<double> want_dx = 2.0 * (1.0 + y), want_dy = 2.0 * x;
    Tape<double> tape;
    const auto xv = tape.leaf(x), yv = tape.leaf(y);
    const Var<double> fused = fuse<double>({xv, yv}, expression);
    const xt::xarray<double> seed = random_array(shape, 72, 0.5, 1.5);
    tape.backward(fused, seed);
    check_close<double>(xv.grad(), want_dx * seed);
    check_close<double>(yv.grad(), want_dy * seed);
    CHECK(fused.grad() == seed);
    tape.zero_grad();
    // fuse_mean: every tile starts from the same seed 1/n.
    tape.backward(fuse_mean<double>({xv, yv}, expression, {1}), xt::xarray<double>({1.0, 1.0, 1.0}));
    check_close<double>(xv.grad(), want_dx / 1100.0);
    check_close<double>(yv.grad(), want_dy / 1100.0);
}

TEST_CASE("fuse: only the inputs that want a gradient and reach the output get one") {
    Tape<double> tape;
    const auto x = tape.leaf(xt::xarray<double>{1.0, 2.0});
    const auto label = tape.constant(xt::xarray<double>{3.0, 4.0});
    const auto unused = tape.leaf(xt::xarray<double>{5.0, 6.0});
    const Var<double> y = fuse({x, label, unused}, [](auto v) {
        exp(v[2]);  // built, but not part of the result
        return square(v[0] - v[1]);
    });
    CHECK(y.value() == xt::xarray<double>{4.0, 4.0});
    tape.backward(sum(y));
    CHECK(x.grad() == xt::xarray<double>{-4.0, -4.0});
    CHECK_FALSE(label.has_grad());
    CHECK_FALSE(unused.has_grad());
}

TEST_CASE("fuse and fuse_mean: ten inputs, some without a gradient, as their primitives one by one") {
    // More inputs than a program keeps inline anywhere (expression values,
    // gradient arrays, prefetched ranges): the fused node must still match.
    constexpr std::size_t count = 10;
    std::vector<xt::xarray<double>> inputs;
    for (std::size_t k = 0; k < count; ++k) inputs.push_back(random_array({3, 5}, 40 + k));
    const auto expression = [](auto v) {
        auto e = v[0] * v[1];
        for (std::size_t k = 2; k < v.size(); ++k) e = e + v[k] * v[k - 1];
        return e;
    };
    auto run = [&](bool fused) {
        Tape<double> tape;
        std::vector<Var<double>> xs;
        for (std::size_t k = 0; k < count; ++k) xs.push_back(k % 3 == 2 ? tape.constant(inputs[k]) : tape.leaf(inputs[k]));
        const Var<double> y = fused ? fuse_mean<double>(xs, expression, {1}) : mean(expression(xs), {1});
        tape.backward(sum(y));
        std::vector<xt::xarray<double>> out{y.value()};
        for (const Var<double>& x : xs) {
            CHECK(x.has_grad() == x.requires_grad());
            if (x.has_grad()) out.push_back(x.grad());
        }
        return out;
    };
    const auto fused = run(true);
    const auto one_by_one = run(false);
    REQUIRE(fused.size() == one_by_one.size());
    // Terms of order 1 added in another order: a few ulps of 1 apart.
    for (std::size_t k = 0; k < fused.size(); ++k) check_close<double>(fused[k], one_by_one[k], 1e-14, 16 * 0x1p-52);
}

TEST_CASE_TEMPLATE("fuse: an input of one value per row, as the same input broadcast", T, float, double) {
    // Input 0's shape, and inputs of one value per row (trailing axes of extent
    // 1): rows within a tile, rows over several tiles, two row lengths at once,
    // one value for every element.
    const std::vector<std::pair<Shape, std::vector<Shape>>> cases = {
        {{3, 4}, {{3, 1}}}, {{3, 2500}, {{3, 1}}}, {{2, 3, 400}, {{2, 1, 1}, {2, 3, 1}}}, {{5, 7}, {{1, 1}}}};
    std::uint64_t seed = 60;
    for (const auto& [shape, row_shapes] : cases) {
        CAPTURE(to_string(shape));
        std::vector<xt::xarray<double>> inputs{random_array(shape, seed++)};
        for (const Shape& row_shape : row_shapes) inputs.push_back(random_array(row_shape, seed++, 0.5, 1.5));
        inputs.push_back(random_array(shape, seed++));
        const xt::xarray<double> weights = random_array(shape, seed++, 0.5, 1.5);
        const auto expression = [](auto v) {
            auto e = softplus(v[0]) * v[1] - v.back();
            for (std::size_t k = 2; k + 1 < v.size(); ++k) e = e + square(v[k] - v[0]);
            return e;
        };
        auto run = [&](bool row_values) {
            Tape<T> tape;
            const auto xs = leaves(tape, inputs);
            std::vector<Var<T>> operands = xs;
            if (!row_values) {
                for (std::size_t k = 1; k + 1 < xs.size(); ++k) operands[k] = broadcast_to(xs[k], shape);
            }
            const Var<T> y = fuse<T>(operands, expression);
            tape.backward(y, as<T>(weights));
            std::vector<xt::xarray<T>> out{y.value()};
            for (const Var<T>& x : xs) out.push_back(x.grad());
            return out;
        };
        const auto expanded_per_tile = run(true);
        const auto broadcast_in_memory = run(false);
        // The value and the full inputs' gradients: the same arithmetic, element
        // by element, so the same bits.
        for (const std::size_t k : {std::size_t(0), std::size_t(1), expanded_per_tile.size() - 1}) {
            CAPTURE(k);
            CHECK(expanded_per_tile[k] == broadcast_in_memory[k]);
        }
        // A row input's gradient sums n terms, each at most 8 in magnitude
        // (weights <= 1.5 times softplus(x) <= 1.4 or 2 |v_k - x| <= 5), per
        // tile and then its parts in order here, pairwise over the row there:
        // each errs by at most about (log2 n + n / 1024 + 1) eps times the sum
        // of |terms| <= 8 n, so the two differ by at most 32 eps 8 n.
        for (std::size_t j = 0; j < row_shapes.size(); ++j) {
            CAPTURE(j);
            const double n = static_cast<double>(element_count(shape) / element_count(row_shapes[j]));
            check_close<T>(expanded_per_tile[2 + j], broadcast_in_memory[2 + j], 0,
                           32 * std::numeric_limits<T>::epsilon() * 8 * n);
        }
    }
    check_op([](auto&, const auto& v) { return fuse(std::span(v), [](auto e) { return e[0] * exp(e[1]); }); },
             {random_array({4, 1100}, 70), random_array({4, 1}, 71)});
}

TEST_CASE("fuse: an input of one value per row of no elements gets a zero gradient") {
    // The first step leaves a gradient of four nonzero values in the tape's
    // spare storage, which the second step's gradient may be built in.
    Tape<double> tape;
    for (const std::size_t columns : {3, 0}) {
        CAPTURE(columns);
        const auto x = tape.leaf(xt::xarray<double>(xt::xarray<double>::shape_type{4, columns}, 1.5));
        const auto per_row = tape.leaf(xt::xarray<double>(xt::xarray<double>::shape_type{4, 1}, 2.0));
        const Var<double> y = fuse({x, per_row}, [](auto v) { return v[0] * v[1]; });
        tape.backward(y, xt::xarray<double>(xt::xarray<double>::shape_type{4, columns}, 1.0));  // fuse's backward runs
        REQUIRE(per_row.has_grad());
        CHECK(per_row.grad() == xt::xarray<double>(xt::xarray<double>::shape_type{4, 1}, 1.5 * double(columns)));
        tape.clear();
    }
}

TEST_CASE("fuse: bad input") {
    Tape<float> tape;
    const auto a = tape.leaf(xt::xarray<float>::from_shape({3, 4}));
    const auto b = tape.leaf(xt::xarray<float>::from_shape({4, 3}));
    const auto identity = [](auto v) { return v[0]; };
    const std::string one_value_per_row =
        " (an input has input 0's shape, or it with trailing axes of extent 1: one value per row)";
    CHECK_THROWS_WITH_AS(fuse({a, b}, identity),
                         ("fuse: input 1 has shape (4, 3), input 0 has shape (3, 4)" + one_value_per_row).c_str(),
                         ShapeError);
    // One value per column is not one per row.
    const auto column = tape.leaf(xt::xarray<float>::from_shape({1, 4}));
    CHECK_THROWS_WITH_AS(fuse({a, column}, identity),
                         ("fuse: input 1 has shape (1, 4), input 0 has shape (3, 4)" + one_value_per_row).c_str(),
                         ShapeError);
    CHECK_THROWS_WITH_AS(fuse(std::span<const Var<float>>(), identity), "fuse: no inputs", ValueError);
    std::optional<ElementwiseExpr> elsewhere;
    fuse({a}, [&](auto v) { return *(elsewhere = v[0]); });
    CHECK_THROWS_WITH_AS(fuse({a}, [&](auto v) { return v[0] * *elsewhere; }),
                         "fuse: mul of values from two different expressions", ValueError);
    CHECK_THROWS_WITH_AS(fuse({a}, [&](auto) { return *elsewhere; }),
                         "fuse: the expression returned a value that it did not build from its inputs", ValueError);
    Tape<float> other;
    const auto c = other.leaf(xt::xarray<float>::from_shape({3, 4}));
    CHECK_THROWS_AS(fuse({a, c}, identity), TapeError);
}

namespace {

// Shapes and reduced axes for fuse_sum and fuse_mean, with the op that records
// the result: rows shorter than a tile, rows longer than one, trailing axes, every
// axis, a trailing axis of size 1, and a leading axis (not rows: the composition).
struct ReductionCase {
    Shape shape;
    Axes axes;
    bool one_pass;
};
const std::vector<ReductionCase> reduction_cases = {
    {{3, 4}, {1}, true},        {{3, 2500}, {-1}, true}, {{2, 3, 4}, {1, 2}, true},
    {{2, 3, 4}, {}, true},      {{4, 300, 1}, {1}, true}, {{3, 4}, {0}, false},
};

}  // namespace

TEST_CASE_TEMPLATE("fuse_sum and fuse_mean: the values and gradients of sum and mean of fuse", T, float, double) {
    std::uint64_t seed = 40;
    for (const ReductionCase& rc : reduction_cases) {
        for (const bool mean_of : {false, true}) {
            CAPTURE(to_string(rc.shape));
            CAPTURE(rc.axes.size());
            CAPTURE(mean_of);
            const auto inputs = sample_inputs(rc.shape, seed);
            seed += 3;
            auto run = [&](bool fused) {
                Tape<T> tape;
                const auto xs = leaves(tape, inputs);
                Var<T> y;
                if (fused) {
                    y = mean_of ? fuse_mean<T>(xs, every_primitive, rc.axes) : fuse_sum<T>(xs, every_primitive, rc.axes);
                    CHECK(std::string(y.op()) ==
                          (rc.one_pass ? (mean_of ? "fuse_mean" : "fuse_sum") : (mean_of ? "mean" : "sum")));
                } else {
                    const Var<T> e = fuse<T>(xs, every_primitive);
                    y = mean_of ? mean(e, rc.axes) : sum(e, rc.axes);
                }
                tape.backward(y, as<T>(random_array(y.shape(), 9, 0.5, 1.5)));
                std::vector<xt::xarray<T>> out{y.value()};
                for (const Var<T>& x : xs) out.push_back(x.grad());
                return out;
            };
            const auto fused = run(true);
            const auto composed = run(false);
            // Rows longer than a tile add their tiles' sums in another order. The
            // gradient rows are computed with seed 1 in the forward pass, then
            // scaled by g: x's contributions round differently (contribution_atol).
            check_close<T>(fused[0], composed[0], 4 * forward_rtol<T>);
            for (std::size_t k = 1; k < fused.size(); ++k) {
                check_close<T>(fused[k], composed[k], 4 * forward_rtol<T>, contribution_atol<T>);
            }
        }
    }
}

TEST_CASE("fuse_mean: gradients against finite differences, float against double") {
    std::uint64_t seed = 60;
    // As reduction_cases, with sizes that finite differences (cost size^2) can afford.
    const std::vector<ReductionCase> cases = {
        {{3, 4}, {1}, true},   {{1, 1100}, {-1}, true}, {{2, 3, 4}, {1, 2}, true},
        {{2, 3, 4}, {}, true}, {{4, 30, 1}, {1}, true}, {{3, 4}, {0}, false},
    };
    for (const ReductionCase& rc : cases) {
        CAPTURE(to_string(rc.shape));
        check_op([&rc](auto&, const auto& v) { return fuse_mean(std::span(v), every_primitive, rc.axes); },
                 sample_inputs(rc.shape, seed));
        seed += 3;
    }
}

TEST_CASE("fuse_sum and fuse_mean: bad axes") {
    Tape<double> tape;
    const auto a = tape.leaf(xt::xarray<double>::from_shape({3, 4}));
    const auto identity = [](auto v) { return v[0]; };
    CHECK_THROWS_WITH_AS(fuse_mean<double>({a}, identity, {2}), doctest::Contains("fuse_mean"), ShapeError);
    CHECK_THROWS_WITH_AS(fuse_sum<double>({a}, identity, {1, 1}), doctest::Contains("fuse_sum"), ShapeError);
}

TEST_CASE("fuse_mean: gradient rows from the forward pass serve the first backward, a second one recomputes") {
    // Row means of x*y and their gradient, twice: the second backward adds the same again.
    const xt::xarray<double> x = random_array({3, 5}, 80);
    const xt::xarray<double> y = random_array({3, 5}, 81);
    const xt::xarray<double> g = {2.0, -1.0, 0.5};
    Tape<double> tape;
    const auto a = tape.leaf(x);
    const auto b = tape.constant(y);
    const Var<double> m = fuse_mean<double>({a, b}, [](auto v) { return v[0] * v[1]; }, {1});
    const Var<double> total = sum(mul(m, tape.constant(g)));
    tape.backward(total);
    xt::xarray<double> want = y;
    for (std::size_t r = 0; r < 3; ++r) {
        for (std::size_t j = 0; j < 5; ++j) want(r, j) *= g(r) / 5.0;
    }
    check_close<double>(a.grad(), want, 1e-15);
    tape.backward(total);
    check_close<double>(a.grad(), 2.0 * want, 1e-15);
    CHECK_FALSE(b.has_grad());
}

TEST_CASE("fuse_mean: without gradients wanted, only the values") {
    Tape<double> tape;
    const auto a = tape.constant(xt::xarray<double>{{1.0, 2.0}, {3.0, 5.0}});
    const Var<double> m = fuse_mean<double>({a}, [](auto v) { return square(v[0]); }, {1});
    CHECK(m.value() == xt::xarray<double>{2.5, 17.0});
    CHECK_FALSE(m.requires_grad());
    tape.set_grad_enabled(false);
    const auto leaf = tape.leaf(xt::xarray<double>{{1.0, 2.0}});
    CHECK(fuse_mean<double>({leaf}, [](auto v) { return square(v[0]); }, {1}).value() == xt::xarray<double>{2.5});
}

TEST_CASE("fuse and fuse_mean: gradients larger than the caches, streamed to memory, equal those of each row alone") {
    // Above streamed_output_bytes the sweep stages each gradient tile and
    // streams it out; a row alone is below it and written in place. The rows
    // are shorter than a tile (a tile per row) and longer (tiles and a tail),
    // and not a whole number of cache lines, so tiles start mid-line.
    for (const Shape& shape : {Shape{1100, 1003}, Shape{260, 4101}}) {
        CAPTURE(shape);
        const std::size_t rows = shape[0];
        const std::size_t cols = shape[1];
        REQUIRE(rows * cols * sizeof(double) >= kernels::streamed_output_bytes);
        REQUIRE(cols * sizeof(double) < kernels::streamed_output_bytes);
        const std::vector<xt::xarray<double>> inputs = sample_inputs(shape, 90);
        const auto gradients = [&](const std::vector<xt::xarray<double>>& values, bool reduced) {
            Tape<double> tape;
            const std::vector<Var<double>> v = leaves<double>(tape, values);
            const auto expression = [](auto u) { return every_primitive(u); };
            tape.backward(sum(reduced ? fuse_mean<double>(v, expression, {1}) : fuse<double>(v, expression)));
            std::vector<xt::xarray<double>> out;
            for (const auto& leaf : v) out.push_back(leaf.grad());
            return out;
        };
        for (const bool reduced : {true, false}) {
            CAPTURE(reduced);
            const std::vector<xt::xarray<double>> whole = gradients(inputs, reduced);
            for (const std::size_t row : {std::size_t(0), std::size_t(1), rows / 2, rows - 1}) {
                CAPTURE(row);
                std::vector<xt::xarray<double>> row_inputs;
                for (const auto& x : inputs) row_inputs.push_back(xt::view(x, xt::range(row, row + 1), xt::all()));
                const std::vector<xt::xarray<double>> alone = gradients(row_inputs, reduced);
                for (std::size_t k = 0; k < inputs.size(); ++k) {
                    const xt::xarray<double> whole_row = xt::view(whole[k], xt::range(row, row + 1), xt::all());
                    CHECK(whole_row == alone[k]);
                }
            }
        }
    }
}
