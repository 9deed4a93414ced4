// Second and higher derivatives: create_graph sweeps, xtape::grad, hvp,
// hessian, jvp and gradgradcheck, for every primitive and every registered loss.
//
// Tolerances: gradgradcheck is gradcheck of x -> <grad J(x), v>, so it has
// gradcheck's defaults (atol 1e-5, rtol 1e-3) and their reasoning: the central
// difference of an analytic gradient with eps = 1e-6 in double errs by about
// eps^2 |J''''| + 1e-16 |grad J| / eps ~ 1e-10 for the O(1) values used here,
// while a wrong second derivative is off by O(|J''|).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xtensor/xmath.hpp>

#include "xtape/losses/ctc_nll.hpp"
#include "xtape/xtape.hpp"

#include "support/registry_walk.hpp"

using namespace xtape;

namespace {

using Fn = std::function<Var<double>(const std::vector<Var<double>>&)>;

xt::xarray<double> uniform(const Shape& shape, double lo, double hi, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    xt::xarray<double> x = xt::empty<double>(shape);
    for (double& v : x) v = u(rng);
    return x;
}

// Uniform in [lo, hi] with every element at least `gap` away from each kink.
xt::xarray<double> away_from(const Shape& shape, double lo, double hi, std::vector<double> kinks, double gap,
                             std::uint64_t seed) {
    xt::xarray<double> x = uniform(shape, lo, hi, seed);
    for (double& v : x) {
        for (double k : kinks) {
            if (std::abs(v - k) < gap) v = k + (v < k ? -gap : gap);
        }
    }
    return x;
}

GradcheckFunction as_function(const Fn& f) {
    return [f](Tape<double>&, const std::vector<Var<double>>& leaves) { return f(leaves); };
}

void check_order_2(const std::string& what, const Fn& f, const std::vector<GradcheckInput>& inputs) {
    const GradcheckResult result = gradgradcheck(as_function(f), inputs);
    INFO(what, ": ", to_string(result));
    CHECK(result.passed);
    CHECK(result.checked > 0);
}

// Order 3: gradgradcheck of x -> <grad J(x), u>, itself differentiated twice.
void check_order_3(const std::string& what, const Fn& f, const std::vector<GradcheckInput>& inputs) {
    std::vector<xt::xarray<double>> u;
    for (std::size_t k = 0; k < inputs.size(); ++k) u.push_back(uniform(inputs[k].value.shape(), -1, 1, 90 + k));
    const GradcheckFunction directional = [&](Tape<double>& tape, const std::vector<Var<double>>& leaves) {
        const Var<double> y = f(leaves);
        const Var<double> j = y.size() == 1 ? y : sum(y);
        const auto g = grad(j, std::span<const Var<double>>(leaves), {.create_graph = true});
        Var<double> total = tape.constant(xt::xarray<double>(0.0));
        for (std::size_t k = 0; k < g.size(); ++k) total = total + sum(g[k] * tape.constant(u[k]));
        return total;
    };
    const GradcheckResult result = gradgradcheck(directional, inputs);
    INFO(what, " (order 3): ", to_string(result));
    CHECK(result.passed);
}

struct UnaryCase {
    const char* name;
    std::function<Var<double>(const Var<double>&)> op;
    std::function<Var<float>(const Var<float>&)> op_float;
    double lo, hi;
    std::vector<double> kinks;
};

// One generic op, for double and float.
struct GenericUnary {
    const char* name;
    double lo, hi;
    std::vector<double> kinks;
    template <class F>
    UnaryCase operator()(F f) const {
        return {name, f, f, lo, hi, kinks};
    }
};

std::vector<UnaryCase> unary_cases() {
    return {
        GenericUnary{"neg", -2, 2, {}}([](const auto& a) { return -a; }),
        GenericUnary{"exp", -2, 2, {}}([](const auto& a) { return exp(a); }),
        GenericUnary{"log", 0.5, 2, {}}([](const auto& a) { return log(a); }),
        GenericUnary{"log1p", -0.5, 2, {}}([](const auto& a) { return log1p(a); }),
        GenericUnary{"sqrt", 0.5, 2, {}}([](const auto& a) { return sqrt(a); }),
        GenericUnary{"square", -2, 2, {}}([](const auto& a) { return square(a); }),
        GenericUnary{"pow_scalar", 0.5, 2, {}}([](const auto& a) { return pow(a, 2.5); }),
        GenericUnary{"abs", -2, 2, {0}}([](const auto& a) { return abs(a); }),
        GenericUnary{"relu", -2, 2, {0}}([](const auto& a) { return relu(a); }),
        GenericUnary{"sigmoid", -3, 3, {}}([](const auto& a) { return sigmoid(a); }),
        GenericUnary{"tanh", -2, 2, {}}([](const auto& a) { return tanh(a); }),
        GenericUnary{"softplus", -3, 3, {}}([](const auto& a) { return softplus(a); }),
        GenericUnary{"smooth_l1", -2, 2, {-0.7, 0.7}}([](const auto& a) { return smooth_l1(a, 0.7); }),
        GenericUnary{"clip", -2, 2, {-0.5, 0.8}}([](const auto& a) { return clip(a, -0.5, 0.8); }),
        GenericUnary{"log_sigmoid", -3, 3, {}}([](const auto& a) { return log_sigmoid(a); }),
        GenericUnary{"sin", -2, 2, {}}([](const auto& a) { return sin(a); }),
        GenericUnary{"cos", -2, 2, {}}([](const auto& a) { return cos(a); }),
        GenericUnary{"erf", -2, 2, {}}([](const auto& a) { return erf(a); }),
        GenericUnary{"normal_cdf", -2, 2, {}}([](const auto& a) { return normal_cdf(a); }),
        GenericUnary{"gelu", -2, 2, {}}([](const auto& a) { return gelu(a); }),
        GenericUnary{"leaky_relu", -2, 2, {0}}([](const auto& a) { return leaky_relu(a, 0.1); }),
        GenericUnary{"elu", -2, 2, {0}}([](const auto& a) { return elu(a, 0.9); }),
        GenericUnary{"add_scalar", -2, 2, {}}([](const auto& a) { return a + 1.5; }),
        GenericUnary{"mul_scalar", -2, 2, {}}([](const auto& a) { return a * 1.5; }),
        GenericUnary{"div_scalar", -2, 2, {}}([](const auto& a) { return a / 1.5; }),
        GenericUnary{"rsub_scalar", -2, 2, {}}([](const auto& a) { return 1.5 - a; }),
        GenericUnary{"rdiv_scalar", 0.5, 2, {}}([](const auto& a) { return 1.5 / a; }),
        GenericUnary{"maximum_scalar", -2, 2, {0.3}}([](const auto& a) { return maximum(a, 0.3); }),
        GenericUnary{"minimum_scalar", -2, 2, {0.3}}([](const auto& a) { return minimum(a, 0.3); }),
    };
}

struct BinaryCase {
    const char* name;
    std::function<Var<double>(const Var<double>&, const Var<double>&)> op;
    double lo, hi;
};

std::vector<BinaryCase> binary_cases() {
    using V = const Var<double>&;
    return {
        {"add", [](V a, V b) { return a + b; }, -2, 2},
        {"sub", [](V a, V b) { return a - b; }, -2, 2},
        {"mul", [](V a, V b) { return a * b; }, -2, 2},
        {"div", [](V a, V b) { return a / b; }, 0.5, 2},
        {"maximum", [](V a, V b) { return maximum(a, b); }, -2, 2},
        {"minimum", [](V a, V b) { return minimum(a, b); }, -2, 2},
        {"pow", [](V a, V b) { return pow(a, b); }, 0.5, 2},
    };
}

// The primitive's output, weighted by a fixed nonlinear function so that
// every second-derivative term (of the op and of what follows it) shows:
// sum(sin(y) * w).
Var<double> weighted(const Var<double>& y) {
    const xt::xarray<double> w = uniform(y.shape(), 0.5, 1.5, 7);
    return sum(sin(y) * y.tape().constant(w));
}

}  // namespace

TEST_CASE("create_graph: every elementwise primitive at order 2 and 3, three shapes (0-d included)") {
    for (const UnaryCase& c : unary_cases()) {
        for (const Shape& shape : {Shape{}, Shape{5}, Shape{3, 4}}) {
            const std::vector<GradcheckInput> in{{"a", away_from(shape, c.lo, c.hi, c.kinks, 0.05, 3)}};
            const Fn f = [&](const std::vector<Var<double>>& x) { return weighted(c.op(x[0])); };
            check_order_2(fmt::format("{} {}", c.name, to_string(shape)), f, in);
            check_order_3(fmt::format("{} {}", c.name, to_string(shape)), f, in);
        }
    }
}

TEST_CASE("create_graph: float Hessian-vector products agree with double for every elementwise primitive") {
    // A float HVP goes through a dozen rounded ops of O(1) values (relative
    // rounding 6e-8 each, 1e-6 together); 1e-4 leaves room for cancellation,
    // while a wrong float path would be off by O(1).
    for (const UnaryCase& c : unary_cases()) {
        const xt::xarray<double> x = away_from({3, 4}, c.lo, c.hi, c.kinks, 0.05, 8);
        const xt::xarray<double> v = uniform({3, 4}, -1, 1, 9);
        const xt::xarray<double> w = uniform({3, 4}, 0.5, 1.5, 10);
        const UnaryFn<double> f = [&](const Var<double>& a) { return sum(sin(c.op(a)) * a.tape().constant(w)); };
        const xt::xarray<float> w32 = xt::cast<float>(w);
        const UnaryFn<float> f32 = [&](const Var<float>& a) { return sum(sin(c.op_float(a)) * a.tape().constant(w32)); };
        const xt::xarray<double> hv = hvp(f, x, v);
        const xt::xarray<float> hv32 = hvp(f32, xt::xarray<float>(xt::cast<float>(x)), xt::xarray<float>(xt::cast<float>(v)));
        for (std::size_t i = 0; i < hv.size(); ++i) {
            INFO(c.name, " element ", i);
            CHECK(std::abs(hv32.flat(i) - hv.flat(i)) <= 1e-4 * (1 + std::abs(hv.flat(i))));
        }
    }
}

TEST_CASE("create_graph: binary primitives at order 2 and 3, with broadcasting and 0-d") {
    const std::vector<std::pair<Shape, Shape>> shapes{{{}, {}}, {{3, 4}, {3, 4}}, {{3, 1}, {4}}, {{2, 3}, {}}};
    for (const BinaryCase& c : binary_cases()) {
        for (const auto& [sa, sb] : shapes) {
            // a and b apart, so that maximum and minimum have no ties.
            xt::xarray<double> a = uniform(sa, c.lo, c.hi, 5);
            xt::xarray<double> b = uniform(sb, c.lo, c.hi, 6);
            const Fn f = [&](const std::vector<Var<double>>& x) { return weighted(c.op(x[0], x[1])); };
            const std::string what = fmt::format("{} {} {}", c.name, to_string(sa), to_string(sb));
            check_order_2(what, f, {{"a", a}, {"b", b}});
            check_order_3(what, f, {{"a", a}, {"b", b}});
        }
    }
}

TEST_CASE("create_graph: reductions, shape ops and the nn ops at order 2") {
    using V = const std::vector<Var<double>>&;
    const xt::xarray<double> x = uniform({3, 4}, -1.5, 1.5, 11);
    const xt::xarray<double> y = uniform({3, 4}, -1.5, 1.5, 12);
    const xt::xarray<double> positive = uniform({3, 4}, 0.5, 1.5, 13);
    const IndexArray index = {{2, 0, 1, 1}, {0, 0, 3, 2}, {1, 3, 0, 2}};
    const IndexArray picks = {3, 0, 2};
    const std::vector<std::pair<std::string, Fn>> one_input{
        {"sum axis 1", [](V v) { return weighted(sum(square(v[0]), {1})); }},
        {"sum all", [](V v) { return weighted(sum(square(v[0]))); }},
        {"mean axis 0 keepdims", [](V v) { return weighted(mean(square(v[0]), {0}, true)); }},
        {"max axis 1", [](V v) { return weighted(max(square(v[0]) + v[0], {1})); }},
        {"min axis 0", [](V v) { return weighted(min(square(v[0]) + v[0], {0})); }},
        {"logsumexp axis 1", [](V v) { return weighted(logsumexp(square(v[0]), {1})); }},
        {"logsumexp axis 0", [](V v) { return weighted(logsumexp(square(v[0]), {0})); }},
        // The gradient reaching logsumexp depends on x: the softmax node's row
        // gradient (p . u) is part of H v.
        {"logsumexp axis 1 times a sum of its input",
         [](V v) { return weighted(logsumexp(square(v[0]), {1}) * sum(v[0], {1})); }},
        {"log_softmax", [](V v) { return weighted(log_softmax(square(v[0]), 1)); }},
        {"log_softmax axis 0", [](V v) { return weighted(log_softmax(square(v[0]), 0)); }},
        {"softmax", [](V v) { return weighted(softmax(square(v[0]), 1)); }},
        {"reshape", [](V v) { return weighted(reshape(square(v[0]), {2, 6})); }},
        {"transpose", [](V v) { return weighted(transpose(square(v[0]))); }},
        {"swapaxes", [](V v) { return weighted(swapaxes(square(v[0]), 0, 1)); }},
        {"broadcast_to", [](V v) { return weighted(broadcast_to(square(v[0]), {2, 3, 4})); }},
        {"slice step 2", [](V v) { return weighted(slice(square(v[0]), 1, 1, 4, 2)); }},
        {"concat", [](V v) { return weighted(concat(std::vector<Var<double>>{square(v[0]), sin(v[0])}, 0)); }},
        {"stack", [](V v) { return weighted(stack(std::vector<Var<double>>{square(v[0]), sin(v[0])}, 1)); }},
        {"gather", [&](V v) { return weighted(gather(square(v[0]), index, 1)); }},
        {"pick", [&](V v) { return weighted(pick(square(v[0]), picks, 1)); }},
        // pick recorded first, so that the sweep reaches it with a gradient of
        // its input already there (VarGradContext::accumulate_at's add_at).
        {"pick before another use of its input", [&](V v) {
             const Var<double> s = square(v[0]);
             const Var<double> picked = pick(s, picks, 1);
             return weighted(picked * sum(s, {1}));
         }},
        {"max before another use of its input", [](V v) {
             const Var<double> s = square(v[0]) + v[0];
             const Var<double> top = max(s, {1});
             return weighted(top * sum(s, {1}));
         }},
        {"variance", [](V v) { return weighted(variance(square(v[0]), {1})); }},
        {"norm", [](V v) { return weighted(norm(v[0] + 2.0, 2, {1})); }},
        {"layer_norm", [](V v) { return weighted(layer_norm(square(v[0]) + v[0])); }},
        {"where", [](V v) {
             const Mask m = {{true, false, true, false}};
             return weighted(where(m, square(v[0]), sin(v[0])));
         }},
    };
    for (const auto& [name, f] : one_input) check_order_2(name, f, {{"x", x}});
    check_order_2("prod", [](V v) { return weighted(prod(v[0], {1})); }, {{"x", positive}});
    const std::vector<std::pair<std::string, Fn>> two_inputs{
        {"dot", [](V v) { return weighted(dot(square(v[0]), v[1], {1})); }},
        {"dot of one input twice", [](V v) { return weighted(dot(sin(v[0]), sin(v[0]), {1}) * sum(v[1], {1})); }},
        {"dot over columns", [](V v) { return weighted(dot(square(v[0]), v[1], {0})); }},
        {"dot of one input twice over columns", [](V v) { return weighted(dot(sin(v[0]), sin(v[0]), {0})); }},
        {"cosine_similarity", [](V v) { return weighted(cosine_similarity(v[0], v[1])); }},
        // eps = 2.5 holds the denominator of row 0 (|x| |y| = 2.11), not of
        // rows 1 and 2 (2.98 and 2.97).
        {"cosine_similarity with eps", [](V v) { return weighted(cosine_similarity(v[0], v[1], 2.5)); }},
        {"cosine_similarity of one input twice",
         [](V v) { return weighted(cosine_similarity(sin(v[0]), sin(v[0])) * sum(v[1], {1})); }},
        {"matmul", [](V v) { return weighted(matmul(v[0], transpose(v[1]))); }},
        {"matmul batched", [](V v) { return weighted(matmul(reshape(v[0], {3, 2, 2}), reshape(v[1], {3, 2, 2}))); }},
    };
    for (const auto& [name, f] : two_inputs) check_order_2(name, f, {{"x", x}, {"y", y}});
    // Through add_at's own gradient (the incoming one, and take_flat's).
    check_order_3("pick before another use of its input", [&](V v) {
        const Var<double> s = square(v[0]);
        const Var<double> picked = pick(s, picks, 1);
        return weighted(picked * sum(s, {1}));
    }, {{"x", x}});
    // Through logsumexp's gradient node (g * softmax over rows) and its composition.
    check_order_3("logsumexp axis 1", [](V v) { return weighted(logsumexp(square(v[0]), {1}) * sum(v[0], {1})); },
                  {{"x", x}});
    // log_softmax's gradient node: its dg (the gradient reaching it depends on
    // x), rows wider than a SIMD batch, and its recomposition at order 3.
    const Fn log_softmax_times_sum = [](V v) { return weighted(log_softmax(square(v[0]), 1) * sum(v[0], {1}, true)); };
    check_order_2("log_softmax times a sum of its input", log_softmax_times_sum, {{"x", x}});
    check_order_2("log_softmax of rows of 37", log_softmax_times_sum, {{"x", uniform({3, 37}, -1.5, 1.5, 16)}});
    check_order_3("log_softmax", log_softmax_times_sum, {{"x", x}});
    // Rows wider than a SIMD batch, with a tail: cosine_similarity_gradient's row kernel.
    check_order_2("cosine_similarity of rows of 37",
                  [](V v) { return weighted(cosine_similarity(v[0], v[1]) * sum(v[0], {1})); },
                  {{"x", uniform({3, 37}, -1.5, 1.5, 14)}, {"y", uniform({3, 37}, -1.5, 1.5, 15)}});
    // Through cosine_similarity_gradient's recomposition.
    check_order_3("cosine_similarity", [](V v) { return weighted(cosine_similarity(v[0], v[1], 2.5)); },
                  {{"x", x}, {"y", y}});
}

TEST_CASE("ctc_nll at order 2 (its gradient node's H v, with d/dg) and order 3, both layouts") {
    using V = const std::vector<Var<double>>&;
    // Sample 1 uses 5 of 6 frames, sample 2 has an empty label, sample 3 is
    // infeasible (a repeated label needs 3 frames, it has 2).
    const std::vector<std::vector<std::int64_t>> labels{{0, 1, 1}, {2, 0}, {}, {1, 1}};
    const std::vector<std::size_t> frames{6, 5, 6, 2};
    for (const CtcLayout layout : {CtcLayout::NTC, CtcLayout::TNC}) {
        const auto alignment =
            std::make_shared<const CtcAlignment>(make_ctc_alignment(labels, frames, 6, 4, layout));
        const Shape shape = layout == CtcLayout::NTC ? Shape{4, 6, 4} : Shape{6, 4, 4};
        const xt::xarray<double> x = uniform(shape, -2, 2, 31);
        const std::string what = layout == CtcLayout::NTC ? "ctc_nll NTC" : "ctc_nll TNC";
        check_order_2(what, [&](V v) { return weighted(ctc_nll(v[0], alignment)); }, {{"x", x}});
        // The gradient reaching ctc_nll depends on x: the node's d/dg is part of H v.
        const Fn scaled = [&](V v) { return weighted(ctc_nll(v[0], alignment) * sum(v[0], {1, 2})); };
        if (layout == CtcLayout::NTC) check_order_2(what + " times a sum of its input", scaled, {{"x", x}});
        // Through the gradient node's recomposition (the composed recursion's gradient).
        check_order_3(what, [&](V v) { return weighted(ctc_nll(v[0], alignment)); }, {{"x", x}});
    }
    // A frame where class 2 (in no label of sample 0) takes all the mass: the
    // scaled recursion underflows, sample 0 runs in log space, and the
    // gradient is the composed recursion's rather than one node.
    const auto alignment =
        std::make_shared<const CtcAlignment>(make_ctc_alignment(labels, frames, 6, 4, CtcLayout::NTC));
    xt::xarray<double> x = uniform({4, 6, 4}, -2, 2, 31);
    const auto gradient_op = [&](const xt::xarray<double>& at) {
        Tape<double> tape;
        const Var<double> leaf = tape.leaf(at);
        return std::string(grad(sum(ctc_nll(leaf, alignment)), {leaf}, {.create_graph = true}).front().op());
    };
    CHECK(gradient_op(x) == "ctc_nll_gradient");
    x(0, 2, 2) = 800;
    CHECK(gradient_op(x) != "ctc_nll_gradient");
    check_order_2("ctc_nll with a sample in log space", [&](V v) { return weighted(ctc_nll(v[0], alignment)); },
                  {{"x", x}});
}

TEST_CASE("create_graph: broadcast_to, slice and the reductions' gradients for every pattern at order 2") {
    // broadcast_to repeats by blocks when the repeated axes form one block and
    // through xtensor otherwise; the reductions' differentiable backward
    // broadcasts their gradient back the same way.
    using V = const std::vector<Var<double>>&;
    for (const auto& [from, to] : std::vector<std::pair<Shape, Shape>>{
             {{}, {3, 4}}, {{3, 1}, {3, 4}}, {{4}, {3, 4}}, {{1, 4}, {3, 4}}, {{3, 1, 4}, {3, 2, 4}},
             {{1, 3, 1}, {2, 3, 4}}}) {
        const Fn f = [to](V v) { return weighted(broadcast_to(square(v[0]), to)); };
        check_order_2(fmt::format("broadcast_to {} to {}", to_string(from), to_string(to)), f,
                      {{"x", uniform(from, -1.5, 1.5, 31)}});
    }
    const xt::xarray<double> x = uniform({3, 2, 4}, -1.5, 1.5, 32);
    // slice's gradient (unslice) and its gradient (slice), to order 3.
    for (const auto& [axis, start, stop, step] : std::vector<std::array<std::size_t, 4>>{
             {0, 1, 3, 1}, {1, 1, 2, 1}, {2, 0, 4, 3}, {2, 1, 1, 1}}) {
        const Fn f = [axis, start, stop, step](V v) {
            return weighted(slice(square(v[0]), static_cast<std::ptrdiff_t>(axis), start, stop, step));
        };
        const std::string what = fmt::format("slice axis {} {}:{}:{}", axis, start, stop, step);
        check_order_2(what, f, {{"x", x}});
        check_order_3(what, f, {{"x", x}});
    }
    for (const Axes& axes : std::vector<Axes>{{0, 1, 2}, {0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}}) {
        const Fn f = [axes](V v) { return weighted(mean(square(v[0]), axes)); };
        check_order_2(fmt::format("mean over ({})", fmt::join(axes, ", ")), f, {{"x", x}});
    }
}

TEST_CASE("create_graph: fused programs and chunked graphs give the second derivatives of their composition") {
    using V = const std::vector<Var<double>>&;
    const xt::xarray<double> x = uniform({6, 5}, -1.5, 1.5, 21);
    const xt::xarray<double> y = uniform({6, 5}, -1.5, 1.5, 22);
    const auto expression = [](auto v) { return softplus(v[0]) * v[1] + square(v[0] - v[1]); };
    const std::vector<std::pair<std::string, Fn>> cases{
        {"fuse", [&](V v) { return weighted(fuse(std::span<const Var<double>>(v), ElementwiseFn(expression))); }},
        {"fuse_sum rows", [&](V v) { return weighted(fuse_sum(std::span<const Var<double>>(v), ElementwiseFn(expression), {1})); }},
        {"fuse_mean", [&](V v) { return weighted(fuse_mean(std::span<const Var<double>>(v), ElementwiseFn(expression))); }},
        {"fuse_mean rows", [&](V v) { return weighted(fuse_mean(std::span<const Var<double>>(v), ElementwiseFn(expression), {1})); }},
        {"fuse, y unused", [&](V v) {
             return weighted(fuse(std::span<const Var<double>>(v), [](auto e) { return exp(e[0]) * 2.0; }));
         }},
        {"chunked", [&](V v) {
             const std::vector<Split> splits{Split::rows, Split::rows};
             const SampleFn<double> per_sample = [](std::span<const Var<double>> in) {
                 return sum(tanh(in[0]) * in[1], {1});
             };
             return weighted(chunked(per_sample, std::span<const Var<double>>(v), splits, 2));
         }},
    };
    for (const auto& [name, f] : cases) {
        check_order_2(name, f, {{"x", x}, {"y", y}});
        if (name.starts_with("fuse")) check_order_3(name, f, {{"x", x}, {"y", y}});
    }
    // An input of one value per row (y's, of shape (6, 1)).
    const Fn row_values = [&](V v) { return weighted(fuse(std::span<const Var<double>>(v), ElementwiseFn(expression))); };
    const xt::xarray<double> per_row = uniform({6, 1}, -1.5, 1.5, 26);
    check_order_2("fuse, one y per row", row_values, {{"x", x}, {"y", per_row}});
    check_order_3("fuse, one y per row", row_values, {{"x", x}, {"y", per_row}});
}

TEST_CASE("create_graph through a fused node records each input's gradient as one fused node") {
    // So that the second sweep is one pass per gradient, as the first.
    Tape<double> tape;
    const Var<double> x = tape.leaf(uniform({6, 5}, -1.5, 1.5, 23));
    const Var<double> y = tape.leaf(uniform({6, 5}, -1.5, 1.5, 24));
    const Var<double> c = tape.constant(uniform({6, 5}, -1.5, 1.5, 25));
    const ElementwiseFn expression = [](auto v) { return softplus(v[0]) * v[1] + square(v[0] - v[2]); };
    const Var<double> out = fuse_sum({x, y, c}, expression, {1});
    CHECK(std::string(out.op()) == "fuse_sum");
    const auto g = grad(sum(out), {x, y}, {.create_graph = true});
    for (const Var<double>& gk : g) {
        CHECK(std::string(gk.op()) == "fuse");
        CHECK(gk.requires_grad());
    }
}

TEST_CASE("fuse_mean's gradient rows: the values of create_graph's gradients, and recomputed for a later sweep") {
    // The rows computed with fuse_mean's value, scaled by the seed (w per
    // row), are the values of the gradients that create_graph records; a
    // first-order sweep through the same node then finds them taken and
    // recomputes. A gradient penalty does both.
    const xt::xarray<double> x0 = uniform({5, 7}, -1.5, 1.5, 53);
    const xt::xarray<double> y0 = uniform({5, 7}, -1.5, 1.5, 54);
    const xt::xarray<double> w0 = uniform({5}, 0.5, 1.5, 55);
    const auto expression = [](const auto& v) { return softplus(v[0]) * v[1] + square(v[0] - v[1]); };
    const auto loss = [&](const Var<double>& x, const Var<double>& y) {
        return sum(fuse_mean({x, y}, ElementwiseFn(expression), {1}) * x.tape().constant(w0));
    };
    {
        Tape<double> tape;
        const Var<double> x = tape.leaf(x0);
        const Var<double> y = tape.leaf(y0);
        const auto g = grad(loss(x, y), {x, y}, {.create_graph = true});
        Tape<double> reference;
        const Var<double> rx = reference.leaf(x0);
        const Var<double> ry = reference.leaf(y0);
        reference.backward(sum(mean(expression(std::vector<Var<double>>{rx, ry}), {1}) * reference.constant(w0)));
        CHECK(xt::allclose(g[0].value(), rx.grad(), 1e-14, 1e-15));
        CHECK(xt::allclose(g[1].value(), ry.grad(), 1e-14, 1e-15));
    }
    const Fn penalized = [&](const std::vector<Var<double>>& v) {
        const Var<double> y = v[0].tape().constant(y0);
        const Var<double> l = loss(v[0], y);
        const auto g = grad(l, {v[0]}, {.create_graph = true});
        return l + sum(square(g[0]));
    };
    const GradcheckResult result = gradcheck(as_function(penalized), {{"x", x0}});
    INFO(to_string(result));
    CHECK(result.passed);
}

TEST_CASE("every registered loss: Hessian-vector products over its option grid (gradgradcheck)") {
    std::size_t checks = 0;
    for (const LossInfo& info : loss_registry()) {
        for (const OptionMap& options : test::option_grid(info)) {
            const Shape& shape = info.check_shapes.front();
            const ArrayMap<double> sample = info.sample(options, shape, 31 + checks);
            for (bool optionals : {false, true}) {
                const test::LossFunction f(info, options, test::chosen_inputs(info, sample, optionals));
                if (f.leaves.empty()) continue;
                const GradcheckResult result = gradgradcheck(f, f.leaves);
                INFO(info.repr(options), " shape ", to_string(shape), optionals ? " with" : " without",
                     " optional inputs: ", to_string(result));
                CHECK(result.passed);
                ++checks;
            }
        }
    }
    MESSAGE(checks, " gradgradchecks");
    CHECK(checks > 50);
}

TEST_CASE("hvp equals hessian times v, jvp satisfies <J t, c> = <t, J^T c>, float agrees with double") {
    const UnaryFn<double> f = [](const Var<double>& x) {
        return sum(softplus(x) * sin(x)) + logsumexp(x * 2.0) + sum(square(matmul(reshape(x, {2, 3}), transpose(reshape(x, {2, 3})))));
    };
    const xt::xarray<double> x = uniform({6}, -1, 1, 41);
    const xt::xarray<double> v = uniform({6}, -1, 1, 42);
    const xt::xarray<double> h = hessian(f, x);
    REQUIRE(h.shape() == Shape{6, 6});
    const xt::xarray<double> hv = hvp(f, x, v);
    for (std::size_t i = 0; i < 6; ++i) {
        double expected = 0;
        for (std::size_t j = 0; j < 6; ++j) expected += h(i, j) * v(j);
        CHECK(hv(i) == doctest::Approx(expected).epsilon(1e-12));
        for (std::size_t j = 0; j < i; ++j) CHECK(h(i, j) == doctest::Approx(h(j, i)).epsilon(1e-12));  // symmetric
    }
    const UnaryFn<float> f32 = [](const Var<float>& x) {
        return sum(softplus(x) * sin(x)) + logsumexp(x * 2.0f) + sum(square(matmul(reshape(x, {2, 3}), transpose(reshape(x, {2, 3})))));
    };
    const xt::xarray<float> hv32 = hvp(f32, xt::xarray<float>(xt::cast<float>(x)), xt::xarray<float>(xt::cast<float>(v)));
    for (std::size_t i = 0; i < 6; ++i) CHECK(hv32(i) == doctest::Approx(hv(i)).epsilon(1e-4));

    // A function with a (2, 3) output: <J t, c> against <t, J^T c> from a plain backward.
    const UnaryFn<double> g = [](const Var<double>& x) {
        return tanh(reshape(x, {2, 3}) * 1.5) * transpose(exp(reshape(x, {3, 2})));
    };
    const xt::xarray<double> t = uniform({6}, -1, 1, 43);
    const xt::xarray<double> c = uniform({2, 3}, -1, 1, 44);
    const xt::xarray<double> jt = jvp(g, x, t);
    REQUIRE(jt.shape() == Shape{2, 3});
    Tape<double> tape;
    const Var<double> leaf = tape.leaf(x);
    Var<double> out;
    {
        TapeScope<double> scope(tape);
        out = g(leaf);
    }
    tape.backward(out, c);
    double left = 0, right = 0;
    for (std::size_t i = 0; i < c.size(); ++i) left += jt.flat(i) * c.flat(i);
    for (std::size_t i = 0; i < t.size(); ++i) right += t.flat(i) * leaf.grad().flat(i);
    CHECK(left == doctest::Approx(right).epsilon(1e-12));
    CHECK(std::abs(left) > 1e-3);  // not trivially zero
}

TEST_CASE("grad from several seeded outputs: one sweep gives the sum of the single-output sweeps") {
    Tape<double> tape;
    const Var<double> a = tape.leaf(xt::xarray<double>{0.3, -0.7, 1.1});
    const Var<double> b = tape.leaf(xt::xarray<double>{0.5, 1.5, -2.0});
    const Var<double> product = a * b;
    const Var<double> exponential = exp(a) * b;
    const Var<double> fixed = tape.constant(xt::xarray<double>{1.0, 2.0});  // no gradient flows into it
    const Var<double> s1 = tape.constant(xt::xarray<double>{1.0, -2.0, 0.5});
    const Var<double> s2 = tape.constant(xt::xarray<double>{0.25, 3.0, -1.0});
    const Var<double> s3 = tape.constant(xt::xarray<double>{-4.0, 0.5, 2.0});
    const Var<double> s4 = tape.constant(xt::xarray<double>{7.0, 8.0});
    const std::vector<Var<double>> inputs{a, b};
    // `product` given twice: its seeds add.
    const std::vector<Var<double>> outputs{product, exponential, product, fixed};
    const std::vector<Var<double>> seeds{s1, s2, s3, s4};
    for (const bool create_graph : {false, true}) {
        CAPTURE(create_graph);
        const auto joint = grad<double>(outputs, inputs, seeds, {.create_graph = create_graph});
        const auto p1 = grad(product, std::span<const Var<double>>(inputs), s1);
        const auto e = grad(exponential, std::span<const Var<double>>(inputs), s2);
        const auto p3 = grad(product, std::span<const Var<double>>(inputs), s3);
        for (std::size_t k = 0; k < 2; ++k) {
            const xt::xarray<double> expected = p1[k].value() + e[k].value() + p3[k].value();
            for (std::size_t i = 0; i < 3; ++i) CHECK(joint[k].value()(i) == doctest::Approx(expected(i)).epsilon(1e-15));
            CHECK(joint[k].requires_grad() == create_graph);
        }
    }
    CHECK_THROWS_WITH_AS(grad<double>(outputs, inputs, std::vector<Var<double>>{s1, s2}),
                         "grad: 4 outputs but 2 seeds", ShapeError);
    CHECK_THROWS_WITH_AS(grad<double>(std::vector<Var<double>>{product, fixed}, inputs, std::vector<Var<double>>{s1, s2}),
                         "grad: seed 1 of shape (3,) does not match output 1 of shape (2,)", ShapeError);

    // hvp over two inputs seeds both blocks of the gradient at once. f = sum(x^2 y) has gradient
    // (2 x y, x^2), so H v = (2 y vx + 2 x vy, 2 x vx).
    const MultiFn<double> f = [](std::span<const Var<double>> in) { return sum(in[0] * in[0] * in[1]); };
    const xt::xarray<double> x{0.3, -0.7, 1.1}, y{0.5, 1.5, -2.0}, vx{1.0, -2.0, 0.5}, vy{0.25, 3.0, -1.0};
    const auto hv = hvp(f, {x, y}, {vx, vy});
    const xt::xarray<double> hv_x = 2.0 * y * vx + 2.0 * x * vy, hv_y = 2.0 * x * vx;
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(hv[0](i) == doctest::Approx(hv_x(i)).epsilon(1e-15));
        CHECK(hv[1](i) == doctest::Approx(hv_y(i)).epsilon(1e-15));
    }
}

TEST_CASE("backward with create_graph: leaves accumulate as before, gradients are variables, grad() is functional") {
    Tape<double> tape;
    const Var<double> x = tape.leaf(xt::xarray<double>{0.3, -0.7, 1.1});
    const Var<double> y = sum(x * x * x);  // dy/dx = 3x^2, d2y/dx2 = 6x
    tape.backward(y, {.create_graph = true});
    const xt::xarray<double> first = x.grad();
    CHECK(first(1) == doctest::Approx(3 * 0.49));
    const Var<double> g = x.grad_var();
    tape.backward(sum(g));  // accumulates 6x into x's gradient
    CHECK(x.grad()(1) == doctest::Approx(3 * 0.49 + 6 * -0.7));
    // The functional form leaves every grad() alone.
    const auto gg = grad(sum(g * g), {x});
    CHECK(gg[0].value()(2) == doctest::Approx(2 * 3 * 1.21 * 6 * 1.1));
    CHECK(x.grad()(1) == doctest::Approx(3 * 0.49 + 6 * -0.7));
    CHECK_FALSE(gg[0].requires_grad());
    // An input the output does not reach gets zeros.
    const Var<double> unused = tape.leaf(xt::xarray<double>{1.0, 2.0});
    CHECK(grad(y, {unused})[0].value() == xt::xarray<double>{0.0, 0.0});
    CHECK_THROWS_AS(unused.grad_var(), TapeError);
}

TEST_CASE("grad without create_graph: the first-order sweep's arrays, and every gradient the tape holds is left alone") {
    Tape<double> tape;
    const Var<double> a = tape.leaf(xt::xarray<double>{0.3, -0.7, 1.1});
    const Var<double> b = tape.leaf(xt::xarray<double>{{0.5, 1.5, -2.0}, {0.25, -1.0, 3.0}});
    const Var<double> m = a * a;  // an intermediate node
    const Var<double> y = sum(exp(a) * b + m);  // a broadcast over b's rows
    tape.backward(y);
    const xt::xarray<double> a_once = a.grad(), b_once = b.grad(), m_once = tape.grad_of(m.index());
    tape.backward(y);  // leaves accumulate: twice the gradient
    const xt::xarray<double> a_twice = a.grad(), b_twice = b.grad();
    const Var<double> later = tape.leaf(xt::xarray<double>{1.0});  // recorded after y: not reached
    const auto g = grad(y, {b, a, a, m, later});
    // The same sweep as backward's, so the same bits; an input given twice gets its gradient twice.
    CHECK(g[0].value() == b_once);
    CHECK(g[1].value() == a_once);
    CHECK(g[2].value() == a_once);
    CHECK(g[3].value() == m_once);
    CHECK(g[4].value() == xt::xarray<double>{0.0});
    for (const Var<double>& gk : g) CHECK_FALSE(gk.requires_grad());
    CHECK(a.grad() == a_twice);
    CHECK(b.grad() == b_twice);
    CHECK(tape.grad_of(m.index()) == m_once);
    CHECK_FALSE(later.has_grad());

    // An op with only an array backward needs nothing more at first order.
    const auto cube_backward = [](GradContext<double>& c) {
        c.accumulate(0, c.grad() * 3.0 * c.input(0) * c.input(0));
    };
    const auto cube = tape.record("my_cube", {a}, xt::xarray<double>(a.value() * a.value() * a.value()), cube_backward);
    CHECK(grad(sum(cube), {a})[0].value() == xt::xarray<double>(3.0 * a.value() * a.value()));
    CHECK(a.grad() == a_twice);

    // A backward that throws leaves the held gradients as they were.
    const auto fails = tape.record("my_failing_op", {b}, xt::xarray<double>(b.value()),
                                   [](GradContext<double>&) { throw std::runtime_error("my_failing_op"); });
    CHECK_THROWS_AS(grad(sum(fails) + y, {a, b}), std::runtime_error);
    CHECK(a.grad() == a_twice);
    CHECK(b.grad() == b_twice);
    CHECK(tape.grad_of(m.index()) == m_once);
    tape.backward(y);
    CHECK(b.grad() == xt::xarray<double>(b_twice + b_once));
}

TEST_CASE("create_graph through a custom op: a differentiable backward is used, an array-only one throws naming the op") {
    Tape<double> tape;
    const Var<double> x = tape.leaf(xt::xarray<double>{0.5, 1.5});
    // cube(x), with its backward written both ways.
    const auto cube = [&](const Var<double>& a, bool differentiable) {
        DifferentiableBackwardFn<double> as_vars = nullptr;
        if (differentiable) {
            as_vars = [](VarGradContext<double>& c) { c.accumulate(0, c.grad() * square(c.input(0)) * 3.0); };
        }
        return tape.record("my_cube", {a}, xt::xarray<double>(a.value() * a.value() * a.value()),
                           [](GradContext<double>& c) { c.accumulate(0, c.grad() * 3.0 * c.input(0) * c.input(0)); },
                           as_vars);
    };
    const auto g = grad(sum(cube(x, true)), {x}, {.create_graph = true});
    const auto h = grad(sum(g[0]), {x});
    CHECK(h[0].value()(1) == doctest::Approx(6 * 1.5));
    try {
        grad(sum(cube(x, false)), {x}, {.create_graph = true});
        FAIL("no exception");
    } catch (const TapeError& e) {
        CHECK(std::string(e.what()).find("my_cube") != std::string::npos);
        CHECK(std::string(e.what()).find("node #") != std::string::npos);
    }
    // First order still works without a differentiable backward.
    const Var<double> y = sum(cube(x, false));
    tape.backward(y);
    CHECK(x.grad()(0) == doctest::Approx(3 * 0.25));
}

TEST_CASE("prod: second derivatives where a slice holds a zero throw, naming prod") {
    Tape<double> tape;
    const Var<double> x = tape.leaf(xt::xarray<double>{{1.0, 0.0, 2.0}});
    try {
        grad(prod(x), {x}, {.create_graph = true});
        FAIL("no exception");
    } catch (const TapeError& e) {
        CHECK(std::string(e.what()).find("prod") != std::string::npos);
    }
}

TEST_CASE("create_graph after clear: old handles are stale, and the tape's size stays flat over many steps") {
    Tape<double> tape;
    xt::xarray<double> w = {0.2, -0.4, 0.6};
    std::vector<std::size_t> sizes;
    for (int step = 0; step < 20; ++step) {
        tape.clear();
        const Var<double> x = tape.leaf(w);
        // A gradient penalty: loss + |grad_x loss|^2, differentiated once more.
        const Var<double> loss = sum(softplus(x) * x);
        const auto g = grad(loss, {x}, {.create_graph = true});
        const Var<double> penalized = loss + sum(square(g[0]));
        tape.backward(penalized);
        w -= 0.1 * x.grad();
        sizes.push_back(tape.size());
        if (step == 0) {
            const Var<double> old = g[0];
            tape.clear();
            CHECK_THROWS_AS(old.value(), TapeError);
            CHECK_THROWS_AS(x.grad_var(), TapeError);
        }
    }
    for (std::size_t s : sizes) CHECK(s == sizes.back());
}

TEST_CASE("a gradient penalty's gradient is checked, and training on it lowers it") {
    // J(x) = loss(x) + |grad loss(x)|^2 for a small MLP-like loss: its gradient
    // needs the Hessian of the loss (double backprop).
    const xt::xarray<double> data = uniform({4, 3}, -1, 1, 51);
    const Fn penalized = [&](const std::vector<Var<double>>& v) {
        Tape<double>& tape = v[0].tape();
        const Var<double> hidden = tanh(matmul(tape.constant(data), reshape(v[0], {3, 2})));
        const Var<double> loss = mean(softplus(sum(hidden, {1})));
        const auto g = grad(loss, {v[0]}, {.create_graph = true});
        return loss + sum(square(g[0]));
    };
    const xt::xarray<double> w0 = uniform({6}, -1, 1, 52);
    const GradcheckResult result = gradcheck(as_function(penalized), {{"w", w0}});
    INFO(to_string(result));
    CHECK(result.passed);
    xt::xarray<double> w = w0;
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        Tape<double> tape;
        const Var<double> leaf = tape.leaf(w);
        const Var<double> j = penalized({leaf});
        tape.backward(j);
        w -= 0.5 * leaf.grad();
        (step == 0 ? first : last) = j.item();
    }
    CHECK(last < first);
}
