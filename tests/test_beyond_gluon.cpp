// docs/beyond-gluon.md: SoftmaxCE's label_smoothing, ignore_index and class_weight, CTC's blank_label,
// and the new losses: the spec's worked numbers, its identities, gradients and every error path.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>

#include "xtape/xtape.hpp"

#include "support/array_helpers.hpp"
#include "support/registry_walk.hpp"

using namespace xtape;

namespace {

// Every element of `actual` against the spec's float64 numbers: to 1e-12 relative in
// double (the numbers have 16 digits), 1e-5 in float.
template <class T>
void check_values(const xt::xarray<T>& actual, const std::vector<double>& expected) {
    REQUIRE(actual.size() == expected.size());
    const double tolerance = std::is_same_v<T, double> ? 1e-12 : 1e-5;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        CHECK(static_cast<double>(actual.flat(i)) == doctest::Approx(expected[i]).epsilon(tolerance));
    }
}

// Central differences in double of the registered loss `name` with these options, every
// differentiable input a leaf; the gradcheck's own tolerance.
GradcheckResult registry_gradcheck(const std::string& name, const OptionMap& options, const ArrayMap<double>& inputs) {
    const LossInfo& info = find_loss(name);
    std::vector<std::string> differentiable;
    std::vector<GradcheckInput> leaves;
    for (const auto& [input, value] : inputs) {
        if (info.is_differentiable(options, input)) {
            differentiable.push_back(input);
            leaves.push_back({input, value});
        }
    }
    const auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& vars) {
        return test::apply_on(tape, info, options, inputs, differentiable, vars);
    };
    return gradcheck(f, leaves);
}

// Two results of the same loss, value and every gradient, to 1e-12 relative.
void check_same(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    REQUIRE(a.shape() == b.shape());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        CHECK(a.flat(i) == doctest::Approx(b.flat(i)).epsilon(1e-12));
    }
}

// A sample weight of an (N, T) loss kept as (N, T, 1).
xt::xarray<double> per_position_weight() {
    xt::xarray<double> w{0.5, 2, 1.5, 1};
    w.reshape({2, 2, 1});
    return w;
}

const xt::xarray<double> spec_pred{{1, 2, 0.5}, {0.1, -1, 3}, {0.3, 0.2, 0.1}};
const xt::xarray<double> spec_label{1, 2, 0};

}  // namespace

// ---- SoftmaxCrossEntropyLoss ----------------------------------------------------------

TEST_CASE_TEMPLATE("SoftmaxCE label_smoothing and class_weight: the spec's numbers", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>(spec_pred));
    const Var<T> label = tape.constant(xt::xarray<T>(spec_label));
    const SoftmaxCrossEntropyLoss<T> smoothed({.label_smoothing = 0.1});
    check_values<T>(smoothed(pred, label).value(), {0.5477021174412783, 0.3007742189604913, 1.0119428482292443});
    const Var<T> class_weight = tape.leaf(xt::xarray<T>{1, 2, 0.5});
    check_values<T>(smoothed(pred, label, std::nullopt, class_weight).value(),
                    {0.9483735028735611, 0.4034387240776118, 1.0286418956997316});
}

TEST_CASE_TEMPLATE("SoftmaxCE ignore_index: each sample's mean is over its kept positions (the spec's numbers)", T,
                   float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{{1, 2, 0.5}, {0.1, -1, 3}}, {{0.3, 0.2, 0.1}, {2, 1, 0}}});
    const Var<T> label = tape.constant(xt::xarray<T>{{1, -100}, {0, 2}});
    const Var<T> out = SoftmaxCrossEntropyLoss<T>({.ignore_index = -100})(pred, label);
    check_values<T>(out.value(), {0.4643687841079449, 1.7047744063368122});
    // The ignored position gets no gradient.
    tape.backward(sum(out));
    for (std::size_t c = 0; c < 3; ++c) CHECK(pred.grad()(0, 1, c) == 0);
    // A sample with no position kept gives 0, and no gradient.
    Tape<T> tape2;
    const Var<T> pred2 = tape2.leaf(pred.value());
    const Var<T> out2 =
        SoftmaxCrossEntropyLoss<T>({.ignore_index = 7})(pred2, tape2.constant(xt::xarray<T>{{7, 7}, {0, 2}}));
    CHECK(out2.value()(0) == 0);
    CHECK(out2.value()(1) == doctest::Approx(1.7047744063368122));
}

namespace {
// The default SoftmaxCE and a variant of it that takes the new path while meaning the same
// (label_smoothing=0 with class weights of 1, or an ignore_index that matches nothing):
// equal values and equal gradients to pred and sample_weight.
void check_identity(const SoftmaxCrossEntropyLossOptions& base, const SoftmaxCrossEntropyLossOptions& variant,
                    bool unit_class_weight, const xt::xarray<double>& pred, const xt::xarray<double>& label,
                    const xt::xarray<double>& sample_weight) {
    Tape<double> a;
    const Var<double> pa = a.leaf(pred), swa = a.leaf(sample_weight);
    const Var<double> out_a = SoftmaxCrossEntropyLoss<double>(base)(pa, a.leaf(label), swa);
    a.backward(sum(out_a));
    Tape<double> b;
    const Var<double> pb = b.leaf(pred), swb = b.leaf(sample_weight);
    const std::size_t classes = pred.shape().back();
    const std::optional<Var<double>> cw =
        unit_class_weight ? std::optional<Var<double>>(b.leaf(xt::ones<double>({classes}))) : std::nullopt;
    const Var<double> out_b = SoftmaxCrossEntropyLoss<double>(variant)(pb, b.leaf(label), swb, cw);
    b.backward(sum(out_b));
    check_same(out_a.value(), out_b.value());
    check_same(pa.grad(), pb.grad());
    check_same(swa.grad(), swb.grad());
}
}  // namespace

TEST_CASE("SoftmaxCE identities: label_smoothing=0 and an ignore_index that matches nothing change nothing") {
    const xt::xarray<double> pred3{{{1, 2, 0.5}, {0.1, -1, 3}}, {{0.3, 0.2, 0.1}, {2, 1, 0}}};
    const xt::xarray<double> sparse{{1, 0}, {0, 2}};
    const xt::xarray<double> sw3 = per_position_weight();
    SUBCASE("sparse, label_smoothing=0 with unit class weights") {
        check_identity({}, {.label_smoothing = 0}, true, pred3, sparse, sw3);
    }
    SUBCASE("sparse, from_logits") {
        check_identity({.from_logits = true}, {.from_logits = true}, true, pred3, sparse, sw3);
    }
    SUBCASE("sparse, ignore_index=-100 that no label equals") {
        check_identity({}, {.ignore_index = -100}, false, pred3, sparse, sw3);
    }
    SUBCASE("dense, label_smoothing=0 with unit class weights") {
        const xt::xarray<double> dense{{{0.2, 0.5, 0.3}, {1, 0, 0}}, {{0, 0.4, 0.6}, {0.1, 0.1, 0.8}}};
        check_identity({.sparse_label = false}, {.sparse_label = false}, true, pred3, dense, sw3);
    }
}

TEST_CASE("SoftmaxCE's new options and class_weight: gradients by central differences in double") {
    const ArrayMap<double> sparse_inputs{
        {"pred", {{{1, 2, 0.5}, {0.1, -1, 3}}, {{0.3, 0.2, 0.1}, {2, 1, 0}}}},
        {"label", {{1, -100}, {0, 2}}},
        {"sample_weight", per_position_weight()},
        {"class_weight", {1, 2, 0.5}},
    };
    for (const OptionMap& options : std::vector<OptionMap>{
             {{"ignore_index", "-100"}},
             {{"ignore_index", "-100"}, {"label_smoothing", "0.2"}},
             {{"ignore_index", "-100"}, {"label_smoothing", "0.2"}, {"from_logits", "true"}, {"weight", "0.5"}}}) {
        const GradcheckResult result = registry_gradcheck("SoftmaxCrossEntropyLoss", options, sparse_inputs);
        INFO(to_string(result));
        CHECK(result.passed);
        CHECK(result.checked == 12 + 4 + 3);
    }
    const ArrayMap<double> dense_inputs{
        {"pred", spec_pred},
        {"label", {{0.2, 0.5, 0.3}, {1, 0, 0}, {0, 0.4, 0.6}}},
        {"class_weight", {1, 2, 0.5}},
    };
    const GradcheckResult dense = registry_gradcheck(
        "SoftmaxCrossEntropyLoss", {{"sparse_label", "false"}, {"label_smoothing", "0.3"}}, dense_inputs);
    INFO(to_string(dense));
    CHECK(dense.passed);
    CHECK(dense.checked == 9 + 9 + 3);
}

TEST_CASE("SoftmaxCE with ignore_index, label_smoothing and class_weight: the same fused, in chunks and eager") {
    // The registry's grid leaves ignore_index out (it rejects dense labels), so the
    // execution test over the registry does not reach the kept-position mean: this does.
    const LossInfo& info = find_loss("SoftmaxCrossEntropyLoss");
    for (const OptionMap& options : std::vector<OptionMap>{
             {{"ignore_index", "-100"}}, {{"ignore_index", "-100"}, {"label_smoothing", "0.2"}, {"weight", "0.5"}}}) {
        const ArrayMap<double> inputs = info.sample(options, Shape{4, 3, 5}, 11);
        const std::vector<std::string> names{"class_weight", "pred", "sample_weight"};
        std::vector<std::vector<xt::xarray<double>>> results;
        for (const Execution execution : {Execution::eager, Execution::automatic, Execution::chunked}) {
            const ExecutionScope scope(execution);
            const LossChunkingScope one_sample_per_chunk(1);
            Tape<double> tape;
            std::vector<Var<double>> leaves;
            for (const auto& name : names) leaves.push_back(tape.leaf(inputs.at(name)));
            const Var<double> loss = test::apply_on<double>(tape, info, options, inputs, names, leaves);
            tape.backward(sum(loss));
            results.push_back({loss.value()});
            for (const auto& leaf : leaves) results.back().push_back(leaf.grad());
        }
        for (std::size_t run = 1; run < results.size(); ++run) {
            CAPTURE(run);
            for (std::size_t k = 0; k < results[0].size(); ++k) check_same(results[run][k], results[0][k]);
        }
    }
}

TEST_CASE("SoftmaxCE's new options: errors name the loss, the argument and the value or shapes") {
    for (double smoothing : {-0.1, 1.0, 1.5, std::nan("")}) {
        CAPTURE(smoothing);
        CHECK_THROWS_WITH_AS(SoftmaxCrossEntropyLoss<double>({.label_smoothing = smoothing}),
                             doctest::Contains("SoftmaxCrossEntropyLoss: label_smoothing must be in [0, 1)"),
                             ValueError);
    }
    CHECK_THROWS_WITH_AS(SoftmaxCrossEntropyLoss<double>({.sparse_label = false, .ignore_index = -100}),
                         doctest::Contains("SoftmaxCrossEntropyLoss: ignore_index=-100 needs sparse labels"),
                         ValueError);
    CHECK_THROWS_WITH_AS(find_loss("SoftmaxCELoss").repr({{"label_smoothing", "1"}}),
                         doctest::Contains("label_smoothing"), ValueError);
    Tape<double> tape;
    const Var<double> pred = tape.leaf(spec_pred);
    const SoftmaxCrossEntropyLoss<double> loss({.ignore_index = -100});
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<double>{1, 2, 0}), std::nullopt,
                              tape.leaf(xt::xarray<double>{1, 2, 0.5, 1})),
                         doctest::Contains("SoftmaxCrossEntropyLoss: class_weight of shape (4,) must have shape (3,)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<double>{1, 2, 0}), std::nullopt,
                              tape.leaf(xt::xarray<double>{{1, 2, 0.5}})),
                         doctest::Contains("class_weight of shape (1, 3)"), ShapeError);
    // A label that is neither kept (a class) nor ignored.
    for (double bad : {-1.0, 3.0, 0.5}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(loss(pred, tape.constant(xt::xarray<double>{1, bad, -100})),
                             doctest::Contains("SoftmaxCrossEntropyLoss"), ValueError);
    }
    const std::size_t recorded = tape.size();
    CHECK_THROWS_AS(loss(pred, tape.constant(xt::xarray<double>{1, 3, -100})), ValueError);
    CHECK(tape.size() == recorded + 1);  // the label constant only: the loss recorded nothing
}

// ---- CTCLoss -----------------------------------------------------------------------------

namespace {
struct CtcResult {
    xt::xarray<double> loss;
    xt::xarray<double> grad;
};

CtcResult run_ctc(const CTCLossOptions& options, const xt::xarray<double>& pred, const xt::xarray<double>& label,
                  std::optional<xt::xarray<double>> label_lengths) {
    Tape<double> tape;
    const Var<double> x = tape.leaf(pred);
    const std::optional<Var<double>> lengths =
        label_lengths ? std::optional<Var<double>>(tape.constant(*label_lengths)) : std::nullopt;
    const Var<double> out = CTCLoss<double>(options)(x, tape.constant(label), std::nullopt, lengths);
    tape.backward(sum(out));
    return {out.value(), x.grad()};
}
}  // namespace

TEST_CASE("CTCLoss blank_label=first on class-rotated inputs equals blank_label=last, value and gradient") {
    const std::size_t N = 2, T = 5, C = 4;
    xt::xarray<double> last_pred = xt::xarray<double>::from_shape({N, T, C});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t c = 0; c < C; ++c) last_pred(n, t, c) = std::sin(1.3 * n + 0.7 * t + 0.37 * c * c);
    // The blank moves from class C-1 to class 0, every other class up by one.
    xt::xarray<double> first_pred = xt::xarray<double>::from_shape({N, T, C});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t c = 0; c < C; ++c) first_pred(n, t, (c + 1) % C) = last_pred(n, t, c);
    const xt::xarray<double> last_label{{0, 1, 2}, {2, 2, -1}};
    const xt::xarray<double> first_label{{1, 2, 3}, {3, 3, 0}};
    for (CtcImplementation implementation : {CtcImplementation::Fused, CtcImplementation::Composed}) {
        for (bool with_lengths : {false, true}) {
            CAPTURE(with_lengths);
            const auto lengths = with_lengths ? std::optional(xt::xarray<double>{3, 2}) : std::nullopt;
            const CtcResult last = run_ctc({.implementation = implementation}, last_pred, last_label, lengths);
            const CtcResult first = run_ctc({.blank_label = "first", .implementation = implementation}, first_pred,
                                            first_label, lengths);
            check_same(first.loss, last.loss);
            for (std::size_t n = 0; n < N; ++n)
                for (std::size_t t = 0; t < T; ++t)
                    for (std::size_t c = 0; c < C; ++c)
                        CHECK(first.grad(n, t, (c + 1) % C) == doctest::Approx(last.grad(n, t, c)).epsilon(1e-12));
        }
    }
}

TEST_CASE("CTCLoss blank_label=first: gradient by central differences in double") {
    const LossInfo& info = find_loss("CTCLoss");
    const OptionMap options{{"blank_label", "first"}};
    ArrayMap<double> inputs = info.sample(options, Shape{2, 5, 4}, 3);
    // Labels in [1, C-1], padded by 0.
    CHECK(xt::amin(inputs.at("label"))() >= 0);
    CHECK(xt::amax(inputs.at("label"))() <= 3);
    const GradcheckResult result = registry_gradcheck("CTCLoss", options, inputs);
    INFO(to_string(result));
    CHECK(result.passed);
    CHECK(result.checked == 2 * 5 * 4 + 2);
}

TEST_CASE("CTCLoss blank_label: an unknown value, and a label equal to the blank, are errors") {
    CHECK_THROWS_WITH_AS(CTCLoss<double>({.blank_label = "middle"}),
                         doctest::Contains("CTCLoss: blank_label must be 'last' or 'first', got 'middle'"),
                         ValueError);
    CHECK_THROWS_WITH_AS(find_loss("CTCLoss").repr({{"blank_label", "zero"}}), doctest::Contains("blank_label"),
                         ValueError);
    const xt::xarray<double> pred = xt::zeros<double>({1, 4, 3});
    // blank first: 0 is the blank (and pads); within label_lengths it is an error.
    CHECK_THROWS_WITH_AS(run_ctc({.blank_label = "first"}, pred, {{1, 0}}, xt::xarray<double>{2}),
                         doctest::Contains("CTCLoss: label value 0 at [0, 1] is not a class in [1, 2] (C = 3, the "
                                           "blank is 0)"),
                         ValueError);
    CHECK_THROWS_WITH_AS(run_ctc({.blank_label = "first"}, pred, {{1, 3}}, std::nullopt),
                         doctest::Contains("is not a class in [1, 2] (C = 3, the blank is 0; 0 pads)"), ValueError);
    CHECK_THROWS_WITH_AS(run_ctc({}, pred, {{1, 2}}, xt::xarray<double>{2}),
                         doctest::Contains("CTCLoss: label value 2 at [0, 1] is not a class in [0, 1] (C = 3, the "
                                           "blank is 2)"),
                         ValueError);
    // Without lengths, 0 ends a row under blank_label=first.
    const CtcResult padded = run_ctc({.blank_label = "first"}, pred, {{1, 0}}, std::nullopt);
    const CtcResult shorter = run_ctc({.blank_label = "first"}, pred, xt::ones<double>({1, 1}), std::nullopt);
    check_same(padded.loss, shorter.loss);
}

// ---- SigmoidFocalLoss ------------------------------------------------------------------

TEST_CASE_TEMPLATE("SigmoidFocalLoss: the spec's numbers, and gamma=0, alpha<0 is SigmoidBCE", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{0, 2, -3}, {1.5, -0.5, 4}});
    const Var<T> label = tape.constant(xt::xarray<T>{{1, 0, 1}, {0, 1, 1}});
    check_values<T>(SigmoidFocalLoss<T>()(pred, label).value(), {0.6574834812024561, 0.3157695349405552});
    const Var<T> plain = SigmoidFocalLoss<T>({.alpha = -1, .gamma = 0})(pred, label);
    check_values<T>(plain.value(), {1.9562208477255532, 0.8978800633602231});
    check_values<T>(SigmoidBCELoss<T>()(pred, label).value(), {1.9562208477255532, 0.8978800633602231});
}

TEST_CASE("SigmoidFocalLoss with gamma=0, alpha<0 equals SigmoidBCE in value and gradient, soft labels and weights") {
    const xt::xarray<double> x{{0.3, -1.2, 2.5}, {-0.7, 0.9, -2}};
    const xt::xarray<double> y{{0.2, 1, 0.6}, {0, 0.9, 0.4}};
    const xt::xarray<double> w = test::column<double>({0.5, 1.5});
    const auto run = [&](auto loss) {
        Tape<double> tape;
        const Var<double> px = tape.leaf(x), py = tape.leaf(y), pw = tape.leaf(w);
        const Var<double> out = loss(px, py, pw);
        tape.backward(sum(out));
        return std::vector<xt::xarray<double>>{out.value(), px.grad(), py.grad(), pw.grad()};
    };
    const auto focal = run(SigmoidFocalLoss<double>({.alpha = -0.5, .gamma = 0, .weight = 0.5}));
    const auto bce = run(SigmoidBCELoss<double>({.weight = 0.5}));
    for (std::size_t i = 0; i < focal.size(); ++i) check_same(focal[i], bce[i]);
}

TEST_CASE("SigmoidFocalLoss is one fused node, and its gradient holds by central differences") {
    Tape<double> tape;
    const Var<double> pred = tape.leaf(xt::xarray<double>{{0, 2, -3}, {1.5, -0.5, 4}});
    const Var<double> label = tape.constant(xt::xarray<double>{{1, 0, 1}, {0, 1, 1}});
    const std::size_t before = tape.size();
    static_cast<void>(SigmoidFocalLoss<double>()(pred, label));
    CHECK(tape.size() == before + 1);
    const ArrayMap<double> inputs{{"pred", {{0.1, 2, -3}, {1.5, -0.5, 4}}},
                                  {"label", {{1, 0, 0.3}, {0, 1, 1}}},
                                  {"sample_weight", test::column<double>({0.5, 2})}};
    for (const OptionMap& options : std::vector<OptionMap>{{}, {{"gamma", "0.5"}, {"alpha", "0.6"}}, {{"gamma", "3"}}}) {
        const GradcheckResult result = registry_gradcheck("SigmoidFocalLoss", options, inputs);
        INFO(to_string(result));
        CHECK(result.passed);
        CHECK(result.checked == 6 + 6 + 2);
    }
}

TEST_CASE("SigmoidFocalLoss errors name the loss") {
    for (double gamma : {-0.5, std::nan("")}) {
        CHECK_THROWS_WITH_AS(SigmoidFocalLoss<double>({.gamma = gamma}),
                             doctest::Contains("SigmoidFocalLoss: gamma must be >= 0"), ValueError);
    }
    Tape<double> tape;
    CHECK_THROWS_WITH_AS(SigmoidFocalLoss<double>()(tape.leaf(xt::zeros<double>({2, 3})),
                                                    tape.leaf(xt::zeros<double>({5}))),
                         doctest::Contains("SigmoidFocalLoss"), ShapeError);
}

// ---- GaussianNLLLoss -----------------------------------------------------------------------

TEST_CASE_TEMPLATE("GaussianNLLLoss: the spec's numbers, with the eps clamp, and full", T, float, double) {
    Tape<T> tape;
    const Var<T> pred = tape.leaf(xt::xarray<T>{{0.5, 1}, {2, -1}});
    const Var<T> target = tape.leaf(xt::xarray<T>{{0, 1.5}, {2.5, -1}});
    const Var<T> var = tape.leaf(xt::xarray<T>{{1, 0.5}, {2, 1e-8}});
    const Var<T> out = GaussianNLLLoss<T>()(pred, target, var);
    check_values<T>(out.value(), {0.0142132048600137, -3.2493408443510820});
    check_values<T>(GaussianNLLLoss<T>({.full = true})(pred, target, var).value(),
                    {0.9331517380646863, -2.3304023111464094});
    // The clamp's kink rule: no gradient to a var below eps; the others get theirs.
    tape.backward(sum(out));
    CHECK(var.grad()(1, 1) == 0);
    CHECK(var.grad()(0, 0) != 0);
}

TEST_CASE("GaussianNLLLoss: one fused node; gradients by central differences, var broadcast and full") {
    Tape<double> tape;
    const Var<double> pred = tape.leaf(xt::xarray<double>{{0.5, 1}, {2, -1}});
    const Var<double> target = tape.leaf(xt::xarray<double>{{0, 1.5}, {2.5, -1}});
    const Var<double> var = tape.leaf(xt::xarray<double>{{1, 0.5}, {2, 0.3}});
    const std::size_t before = tape.size();
    static_cast<void>(GaussianNLLLoss<double>()(pred, target, var));
    CHECK(tape.size() == before + 1);
    for (const auto& var_value : {xt::xarray<double>{{1, 0.5, 0.7}, {2, 0.3, 1.2}}, xt::xarray<double>{0.4, 0.8, 1.6}}) {
        const ArrayMap<double> inputs{{"pred", {{0.5, 1, -0.2}, {2, -1, 0.3}}},
                                      {"target", {{0, 1.5, 0.1}, {2.5, -1.1, 0}}},
                                      {"var", var_value},
                                      {"sample_weight", test::column<double>({0.5, 2})}};
        for (const OptionMap& options : std::vector<OptionMap>{{}, {{"full", "true"}, {"weight", "0.5"}}}) {
            const GradcheckResult result = registry_gradcheck("GaussianNLLLoss", options, inputs);
            INFO(to_string(result));
            CHECK(result.passed);
            CHECK(result.checked == 6 + 6 + var_value.size() + 2);
        }
    }
}

TEST_CASE("GaussianNLLLoss errors name the loss") {
    for (double eps : {0.0, -1e-6, std::nan("")}) {
        CHECK_THROWS_WITH_AS(GaussianNLLLoss<double>({.eps = eps}),
                             doctest::Contains("GaussianNLLLoss: eps must be positive"), ValueError);
    }
    Tape<double> tape;
    const Var<double> pred = tape.leaf(xt::zeros<double>({2, 2}));
    const GaussianNLLLoss<double> loss;
    CHECK_THROWS_WITH_AS(loss(pred, pred, tape.leaf(xt::xarray<double>{{1, -0.5}, {1, 1}})),
                         doctest::Contains("GaussianNLLLoss: var must be >= 0, got -0.5 at flat index 1"), ValueError);
    CHECK_THROWS_WITH_AS(loss(pred, pred, tape.leaf(xt::xarray<double>{1, 1, 1})),
                         doctest::Contains("GaussianNLLLoss: var of shape (3,) does not broadcast to pred of shape "
                                           "(2, 2)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(loss(pred, tape.leaf(xt::zeros<double>({3})), tape.leaf(xt::ones<double>({2, 2}))),
                         doctest::Contains("GaussianNLLLoss"), ShapeError);
}

// ---- MarginRankingLoss ---------------------------------------------------------------------

TEST_CASE_TEMPLATE("MarginRankingLoss: the spec's numbers on a 1-D batch", T, float, double) {
    Tape<T> tape;
    const Var<T> input1 = tape.leaf(xt::xarray<T>{0.5, 2, -1});
    const Var<T> input2 = tape.leaf(xt::xarray<T>{1, 0, -1.5});
    const Var<T> label = tape.constant(xt::xarray<T>{1, 1, -1});
    check_values<T>(MarginRankingLoss<T>()(input1, input2, label).value(), {0.5, 0, 0.5});
    check_values<T>(MarginRankingLoss<T>({.margin = 0.5})(input1, input2, label).value(), {1, 0, 1});
}

TEST_CASE("MarginRankingLoss: gradients by central differences, away from the hinge's kink") {
    const ArrayMap<double> inputs{{"input1", {{0.5, 2, -1}, {0.3, 0.2, 1}}},
                                  {"input2", {{1, 0, -1.5}, {-0.4, 0.9, 1.3}}},
                                  {"label", {{1, 1, -1}, {-1, 1, 1}}},
                                  {"sample_weight", test::column<double>({0.5, 2})}};
    for (const OptionMap& options : std::vector<OptionMap>{{}, {{"margin", "0.3"}, {"weight", "2"}}}) {
        const GradcheckResult result = registry_gradcheck("MarginRankingLoss", options, inputs);
        INFO(to_string(result));
        CHECK(result.passed);
        CHECK(result.checked == 6 + 6 + 2);
    }
}

TEST_CASE("MarginRankingLoss errors name the loss") {
    Tape<double> tape;
    const Var<double> a = tape.leaf(xt::zeros<double>({3}));
    const MarginRankingLoss<double> loss;
    for (double bad : {0.0, 2.0, 0.5, std::nan("")}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(loss(a, a, tape.constant(xt::xarray<double>{1, bad, -1})),
                             doctest::Contains("MarginRankingLoss: label must be 1 or -1, got"), ValueError);
    }
    // The labels are counted without a branch (vectorised by the compiler): a
    // bad one in the tail after the last whole batch is found, and named by
    // its own index.
    for (std::size_t at : {std::size_t(0), std::size_t(20), std::size_t(36)}) {
        CAPTURE(at);
        const Var<double> long_input = tape.leaf(xt::zeros<double>({37}));
        xt::xarray<double> labels = xt::ones<double>({37});
        labels(at) = 3;
        const std::string expected = fmt::format("got 3 at flat index {}", at);
        CHECK_THROWS_WITH_AS(loss(long_input, long_input, tape.constant(labels)), doctest::Contains(expected.c_str()),
                             ValueError);
    }
    CHECK_THROWS_WITH_AS(loss(a, tape.leaf(xt::zeros<double>({3, 1})), tape.constant(xt::ones<double>({3}))),
                         doctest::Contains("MarginRankingLoss: input2 of shape (3, 1) must have input1's shape (3,)"),
                         ShapeError);
}

// ---- SDMLLoss ------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("SDMLLoss: the spec's numbers, and batch_axis=1 reads the transpose", T, float, double) {
    const xt::xarray<T> x1{{1, 0}, {0, 1}, {1, 1}};
    const xt::xarray<T> x2{{0.9, 0.1}, {0.2, 0.8}, {1, 1.2}};
    const std::vector<double> expected{0.0018090882180111, 0.0081633207020194, 0.0267207508769619};
    Tape<T> tape;
    check_values<T>(SDMLLoss<T>()(tape.leaf(x1), tape.leaf(x2)).value(), expected);
    const xt::xarray<T> x1t = xt::transpose(x1), x2t = xt::transpose(x2);
    check_values<T>(SDMLLoss<T>({.batch_axis = 1})(tape.leaf(x1t), tape.leaf(x2t)).value(), expected);
    // sample_weight and weight scale each sample's loss.
    const Var<T> weighted =
        SDMLLoss<T>({.weight = 2})(tape.leaf(x1), tape.leaf(x2), tape.leaf(xt::xarray<T>{1, 0.5, 3}));
    check_values<T>(weighted.value(), {2 * expected[0], expected[1], 6 * expected[2]});
}

// The spec's SDMLLoss written out in double: each sample's (N, D) differences,
// log_softmax of -D by its max, the smoothed labels L and the mean of L (log(L + 1e-12) - lp).
std::vector<double> sdml_by_definition(const xt::xarray<double>& x1, const xt::xarray<double>& x2, double s) {
    const std::size_t n = x1.shape()[0];
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> logits(n);
        for (std::size_t j = 0; j < n; ++j) {
            double distance = 0;
            for (std::size_t k = 0; k < x1.shape()[1]; ++k) distance += (x1(i, k) - x2(j, k)) * (x1(i, k) - x2(j, k));
            logits[j] = -distance;
        }
        const double m = *std::max_element(logits.begin(), logits.end());
        double total = 0;
        for (double z : logits) total += std::exp(z - m);
        double divergence = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const double l = i == j ? 1 - s : s / static_cast<double>(n - 1);
            divergence += l * (std::log(l + 1e-12) - (logits[j] - m - std::log(total)));
        }
        out[i] = divergence / static_cast<double>(n);
    }
    return out;
}

TEST_CASE_TEMPLATE("SDMLLoss equals its definition at every smoothing", T, float, double) {
    const xt::xarray<double> x1{{0.5, -1, 2}, {1, 0.3, -0.7}, {-1.2, 0.8, 0.1}, {0.9, 1.1, -0.4}};
    const xt::xarray<double> x2 = x1 + xt::xarray<double>{{0.1, 0.2, -0.1}, {-0.3, 0.1, 0.2}, {0.2, -0.2, 0.3},
                                                          {0.6, -0.5, 0.4}};
    for (double s : {0.0, 0.3, 1.0}) {
        CAPTURE(s);
        Tape<T> tape;
        const xt::xarray<T> a = xt::cast<T>(x1), b = xt::cast<T>(x2);
        check_values<T>(SDMLLoss<T>({.smoothing_parameter = s})(tape.leaf(a), tape.leaf(b)).value(),
                        sdml_by_definition(x1, x2, s));
    }
}

TEST_CASE("SDMLLoss: gradients by central differences in double") {
    const ArrayMap<double> inputs{{"x1", {{1, 0}, {0, 1}, {1, 1}}},
                                  {"x2", {{0.9, 0.1}, {0.2, 0.8}, {1, 1.2}}},
                                  {"sample_weight", {1, 0.5, 3}}};
    for (const OptionMap& options : std::vector<OptionMap>{{}, {{"smoothing_parameter", "0"}}, {{"smoothing_parameter", "1"}}}) {
        const GradcheckResult result = registry_gradcheck("SDMLLoss", options, inputs);
        INFO(to_string(result));
        CHECK(result.passed);
        CHECK(result.checked == 6 + 6 + 3);
    }
}

TEST_CASE("SDMLLoss errors name the loss") {
    for (double s : {-0.1, 1.5, std::nan("")}) {
        CHECK_THROWS_WITH_AS(SDMLLoss<double>({.smoothing_parameter = s}),
                             doctest::Contains("SDMLLoss: smoothing_parameter must be in [0, 1]"), ValueError);
    }
    Tape<double> tape;
    const SDMLLoss<double> loss;
    const Var<double> one = tape.leaf(xt::zeros<double>({1, 2}));
    CHECK_THROWS_WITH_AS(loss(one, one), doctest::Contains("SDMLLoss: needs N >= 2"), ValueError);
    const Var<double> a = tape.leaf(xt::zeros<double>({3, 2}));
    CHECK_THROWS_WITH_AS(loss(a, tape.leaf(xt::zeros<double>({3, 3}))),
                         doctest::Contains("SDMLLoss: x1 of shape (3, 2) and x2 of shape (3, 3) must be two equal "
                                           "shapes (N, D)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(loss(tape.leaf(xt::zeros<double>({3})), tape.leaf(xt::zeros<double>({3}))),
                         doctest::Contains("SDMLLoss"), ShapeError);
    CHECK_THROWS_WITH_AS(loss(a, a, tape.leaf(xt::ones<double>({2}))), doctest::Contains("SDMLLoss"), ShapeError);
}
