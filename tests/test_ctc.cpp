// CTCLoss: the spec's numbers, a brute-force reference, gradients, lengths, infeasible and empty labels, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <type_traits>

#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include "ctc_brute_force.hpp"
#include "support/random_arrays.hpp"
#include "support/registry_walk.hpp"
#include "xtape/derivatives.hpp"
#include "xtape/gradcheck.hpp"
#include "xtape/losses/ctc_loss.hpp"
#include "xtape/losses/ctc_nll.hpp"
#include "xtape/losses/registry.hpp"
#include "xtape/ops.hpp"

using namespace xtape;

namespace {

constexpr CtcImplementation implementations[] = {CtcImplementation::Fused, CtcImplementation::Composed};

const char* name_of(CtcImplementation impl) { return impl == CtcImplementation::Fused ? "fused" : "composed"; }

// Activations drawn from a normal distribution of this deviation: every
// class's probability varies between frames.
constexpr double activation_stddev = 1.5;

// One call of CTCLoss on a fresh tape: the loss and d(sum of the loss)/d(pred).
template <class T>
struct CtcRun {
    xt::xarray<T> loss;
    xt::xarray<T> grad;
};

struct CtcArgs {
    xt::xarray<double> label;
    std::optional<xt::xarray<double>> pred_lengths{};
    std::optional<xt::xarray<double>> label_lengths{};
    std::optional<xt::xarray<double>> sample_weight{};
};

template <class T>
CtcRun<T> run_ctc(const xt::xarray<T>& pred, const CtcArgs& args, CTCLossOptions options) {
    Tape<T> tape;
    auto constant = [&tape](const std::optional<xt::xarray<double>>& a) -> std::optional<Var<T>> {
        if (!a) return std::nullopt;
        return tape.constant(xt::xarray<T>(xt::cast<T>(*a)));
    };
    const Var<T> x = tape.leaf(pred);
    const Var<T> loss = CTCLoss<T>(options)(x, *constant(args.label), constant(args.pred_lengths),
                                            constant(args.label_lengths), constant(args.sample_weight));
    tape.backward(loss, xt::ones<T>(loss.shape()));
    return {loss.value(), x.grad()};
}

CTCLossOptions options_of(CtcImplementation impl, std::string layout = "NTC", std::string label_layout = "NT") {
    CTCLossOptions options;
    options.layout = std::move(layout);
    options.label_layout = std::move(label_layout);
    options.implementation = impl;
    return options;
}

template <class T>
double tolerance() {
    return std::is_same_v<T, float> ? 1e-5 : 1e-9;
}

// log softmax of one frame of a (T, C) array.
double log_softmax_at(const xt::xarray<double>& x, std::size_t t, std::size_t c) {
    double z = 0;
    for (std::size_t k = 0; k < x.shape()[1]; ++k) z += std::exp(x(t, k));
    return x(t, c) - std::log(z);
}

// The message of the invalid_argument that `f` throws (empty when none).
template <class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("the extended label puts blanks around the labels and skips only between different labels") {
    const CtcAlignment a = make_ctc_alignment({{0, 0, 1}, {}}, {6, 2}, 6, 3, CtcLayout::NTC);
    CHECK(a.states == 7);
    CHECK(a.extended == std::vector<std::int64_t>{2, 0, 2, 0, 2, 1, 2, 2, 2, 2, 2, 2, 2, 2});
    // Into the second 0 no skip (a repeat), into the 1 a skip, never into a blank.
    CHECK(a.can_skip == std::vector<std::uint8_t>{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK(ctc_min_frames(std::vector<std::int64_t>{0, 0, 1}) == 4);
    CHECK(ctc_min_frames(std::vector<std::int64_t>{1, 1, 1}) == 5);
    CHECK(ctc_min_frames(std::vector<std::int64_t>{}) == 0);
    CHECK(a.feasible == std::vector<std::uint8_t>{1, 1});
    CHECK_FALSE(make_ctc_alignment({{0, 0, 1}}, {3}, 6, 3, CtcLayout::NTC).feasible[0]);
}

TEST_CASE_TEMPLATE("CTCLoss gives the spec's numbers for uniform activations, in all five variants", T, float, double) {
    // The spec's numbers come from MXNet's float32 test, good to about 1e-7 relative.
    const double spec[] = {18.82820702, 16.50581741};
    // Exactly: with uniform softmax p = (alignments) / 4^20, and the alignments of
    // [a, b] in 20 frames are C(22, 4), those of [a, b, b] are C(22, 6) (stars and bars).
    const double exact[] = {20 * std::log(4.0) - std::log(7315.0), 20 * std::log(4.0) - std::log(74613.0)};
    const xt::xarray<double> label = {{1, 0, -1, -1}, {2, 1, 1, -1}};
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const auto check = [&](const CtcRun<T>& run) {
            REQUIRE(run.loss.shape() == Shape{2});
            for (std::size_t n = 0; n < 2; ++n) {
                CHECK(run.loss(n) == doctest::Approx(spec[n]).epsilon(1e-6));
                CHECK(run.loss(n) == doctest::Approx(exact[n]).epsilon(tolerance<T>()));
            }
        };
        check(run_ctc<T>(xt::ones<T>({2, 20, 4}), {label}, options_of(impl, "NTC")));
        check(run_ctc<T>(xt::ones<T>({20, 2, 4}), {label}, options_of(impl, "TNC")));
        check(run_ctc<T>(xt::ones<T>({20, 2, 4}), {xt::transpose(label)}, options_of(impl, "TNC", "TN")));
        check(run_ctc<T>(xt::ones<T>({2, 25, 4}), {{{2, 1, -1, -1}, {2, 1, 1, -1}}, xt::xarray<double>{20, 20}},
                         options_of(impl)));
        check(run_ctc<T>(xt::ones<T>({2, 20, 4}), {{{2, 1, 0, 0}, {0, 2, 2, 0}}, std::nullopt, xt::xarray<double>{2, 3}},
                         options_of(impl)));
    }
}

TEST_CASE_TEMPLATE("CTCLoss gives the spec's number for real activations", T, float, double) {
    // T=3, N=2, C=5, layout TNC: both samples see the same frames.
    const xt::xarray<double> frames = {{3.4, 1.2, -0.1, -2.34, 1.2}, {0.2, 0.3, 0.22, 0.123, 0.1}, {-14, -13, -12, -11, -15}};
    xt::xarray<T> pred = xt::empty<T>({3, 2, 5});
    for (std::size_t n = 0; n < 2; ++n) xt::view(pred, xt::all(), n, xt::all()) = xt::cast<T>(frames);
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const CtcRun<T> run = run_ctc<T>(pred, {{{1, 2}, {1, 2}}}, options_of(impl, "TNC"));
        for (std::size_t n = 0; n < 2; ++n) CHECK(run.loss(n) == doctest::Approx(4.0478967).epsilon(1e-7));
    }
}

TEST_CASE("both implementations match brute-force enumeration of paths, values and gradients") {
    // N=3, T=4, C=3 (81 paths per sample), with a repeat, an empty label and a short sample.
    const std::vector<std::vector<std::int64_t>> labels = {{0, 1}, {1, 1}, {}};
    const std::vector<std::size_t> lengths = {4, 3, 4};
    const CtcArgs args{{{0, 1}, {1, 1}, {-1, -1}}, xt::xarray<double>{4, 3, 4}};
    const xt::xarray<double> x = test::random_normal<double>({3, 4, 3}, 7, activation_stddev);
    for (const bool time_major : {false, true}) {
        const xt::xarray<double> pred = time_major ? xt::xarray<double>(xt::transpose(x, {1, 0, 2})) : x;
        for (const CtcImplementation impl : implementations) {
            CAPTURE(std::string(name_of(impl)));
            CAPTURE(time_major);
            CtcRun<double> run = run_ctc<double>(pred, args, options_of(impl, time_major ? "TNC" : "NTC"));
            if (time_major) run.grad = xt::transpose(run.grad, {1, 0, 2});
            for (std::size_t n = 0; n < 3; ++n) {
                const testing::BruteForceCtc ref =
                    testing::brute_force_ctc(xt::view(x, n, xt::range(0, lengths[n]), xt::all()), labels[n]);
                CHECK(run.loss(n) == doctest::Approx(ref.nll).epsilon(1e-12));
                const xt::xarray<double> grad = xt::view(run.grad, n, xt::range(0, lengths[n]), xt::all());
                CHECK(xt::amax(xt::abs(grad - ref.grad))() < 1e-12);
                CHECK(xt::all(xt::equal(xt::view(run.grad, n, xt::range(lengths[n], std::size_t{4}), xt::all()), 0.0)));
            }
        }
    }
}

TEST_CASE("CTCLoss passes gradcheck with lengths, padding, an empty label and sample weights") {
    const CtcArgs args{{{0, 1, -1}, {2, 2, -1}, {1, 0, 2}, {-1, -1, -1}}, xt::xarray<double>{5, 4, 5, 3}};
    for (const CtcImplementation impl : implementations) {
        for (const bool time_major : {false, true}) {
            CAPTURE(std::string(name_of(impl)));
            CAPTURE(time_major);
            const CTCLossOptions options = options_of(impl, time_major ? "TNC" : "NTC");
            const GradcheckFunction f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
                return CTCLoss<double>(options)(in[0], tape.constant(args.label), tape.constant(*args.pred_lengths),
                                                std::nullopt, in[1]);
            };
            const Shape shape = time_major ? Shape{5, 4, 4} : Shape{4, 5, 4};
            const GradcheckResult r =
                gradcheck(f, {{"pred", test::random_normal<double>(shape, 11, activation_stddev)},
                              {"sample_weight", {0.5, 1.5, 2.0, 0.7}}});
            CHECK_MESSAGE(r.passed, to_string(r));
        }
    }
}

TEST_CASE("CTCLoss passes gradcheck with label_lengths and a weight") {
    const CtcArgs args{{{1, 0, 0}, {2, 7, 7}}, std::nullopt, xt::xarray<double>{3, 1}};
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        CTCLossOptions options = options_of(impl);
        options.weight = 0.25;
        const GradcheckFunction f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
            // The 7s lie past label_lengths and are ignored (C = 4 would reject them).
            return CTCLoss<double>(options)(in[0], tape.constant(args.label), std::nullopt,
                                            tape.constant(*args.label_lengths));
        };
        const GradcheckResult r = gradcheck(f, {{"pred", test::random_normal<double>({2, 6, 4}, 3, activation_stddev)}});
        CHECK_MESSAGE(r.passed, to_string(r));
    }
}

TEST_CASE_TEMPLATE("frames past pred_lengths get exactly zero gradient, and NaN there does not leak", T, float, double) {
    xt::xarray<T> pred = test::random_normal<T>({2, 6, 4}, 5, activation_stddev);
    xt::view(pred, 0, xt::range(3, 6), xt::all()) = std::numeric_limits<T>::quiet_NaN();
    xt::view(pred, 1, xt::range(5, 6), xt::all()) = std::numeric_limits<T>::infinity();
    const CtcArgs args{{{0, 1}, {2, 2}}, xt::xarray<double>{3, 5}};
    const CtcArgs truncated{{{0, 1}}};
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const CtcRun<T> run = run_ctc<T>(pred, args, options_of(impl));
        CHECK(xt::all(xt::isfinite(run.loss)));
        CHECK(xt::all(xt::isfinite(run.grad)));
        CHECK(xt::all(xt::equal(xt::view(run.grad, 0, xt::range(3, 6), xt::all()), T(0))));
        CHECK(xt::all(xt::equal(xt::view(run.grad, 1, xt::range(5, 6), xt::all()), T(0))));
        // Sample 0 is the same problem as its first three frames alone.
        const xt::xarray<T> head = xt::view(pred, xt::range(0, 1), xt::range(0, 3), xt::all());
        const CtcRun<T> alone = run_ctc<T>(head, truncated, options_of(impl));
        CHECK(run.loss(0) == doctest::Approx(alone.loss(0)).epsilon(tolerance<T>()));
        const xt::xarray<T> grad_head = xt::view(run.grad, xt::range(0, 1), xt::range(0, 3), xt::all());
        CHECK(xt::allclose(grad_head, alone.grad, tolerance<T>(), tolerance<T>()));
    }
}

TEST_CASE_TEMPLATE("an infeasible sample gives loss 0 and gradient 0, its neighbours are unaffected", T, float, double) {
    // Sample 0: [1, 1] needs 3 frames and has 2; sample 2: three labels in 2 frames.
    // Sample 1: [0, 2] in 2 frames, feasible with exactly one alignment.
    const xt::xarray<double> x = test::random_normal<double>({3, 4, 4}, 9, activation_stddev);
    const CtcArgs args{{{1, 1, -1}, {0, 2, -1}, {0, 1, 2}}, xt::xarray<double>{2, 2, 2}};
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const CtcRun<T> run = run_ctc<T>(xt::cast<T>(x), args, options_of(impl));
        CHECK(run.loss(0) == 0);
        CHECK(run.loss(2) == 0);
        CHECK(xt::all(xt::equal(xt::view(run.grad, 0), T(0))));
        CHECK(xt::all(xt::equal(xt::view(run.grad, 2), T(0))));
        // T_n equal to the label length without repeats: the single alignment (0, 2).
        const xt::xarray<double> x1 = xt::view(x, 1);
        const double single = -log_softmax_at(x1, 0, 0) - log_softmax_at(x1, 1, 2);
        CHECK(run.loss(1) == doctest::Approx(single).epsilon(tolerance<T>()));
    }
}

TEST_CASE_TEMPLATE("an empty label gives -sum_t log p_blank(t), with or without label_lengths", T, float, double) {
    const xt::xarray<double> x = test::random_normal<double>({1, 5, 3}, 13, activation_stddev);
    const xt::xarray<double> x0 = xt::view(x, 0);
    double expected = 0;
    for (std::size_t t = 0; t < 5; ++t) expected -= log_softmax_at(x0, t, 2);
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const CtcRun<T> padded = run_ctc<T>(xt::cast<T>(x), {{{-1, -1}}}, options_of(impl));
        const CtcRun<T> counted = run_ctc<T>(xt::cast<T>(x), {{{0, 1}}, std::nullopt, xt::xarray<double>{0}}, options_of(impl));
        CHECK(padded.loss(0) == doctest::Approx(expected).epsilon(tolerance<T>()));
        CHECK(counted.loss(0) == doctest::Approx(expected).epsilon(tolerance<T>()));
        // d/dx = softmax - onehot(blank) in every frame.
        xt::xarray<double> softmax = xt::exp(x0);
        softmax /= xt::view(xt::sum(softmax, {1}), xt::all(), xt::newaxis());
        xt::view(softmax, xt::all(), 2) -= 1.0;
        CHECK(xt::allclose(xt::xarray<double>(xt::view(xt::cast<double>(padded.grad), 0)), softmax, 1e-5, 1e-6));
    }
}

TEST_CASE("with as many frames as labels and no repeats there is exactly one alignment") {
    const xt::xarray<double> x = test::random_normal<double>({1, 3, 5}, 17, activation_stddev);
    const xt::xarray<double> x0 = xt::view(x, 0);
    const double expected = -log_softmax_at(x0, 0, 3) - log_softmax_at(x0, 1, 0) - log_softmax_at(x0, 2, 3);
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        CHECK(run_ctc<double>(x, {{{3, 0, 3}}}, options_of(impl)).loss(0) == doctest::Approx(expected).epsilon(1e-12));
    }
}

TEST_CASE_TEMPLATE("the composed and the fused implementations agree in value and gradient", T, float, double) {
    const xt::xarray<double> label = {{0, 1, 1, 3, -1}, {2, 2, 2, -1, -1}, {-1, -1, -1, -1, -1},
                                      {3, 0, 3, 0, 1},  {1, 2, -1, -1, -1}};
    const CtcArgs args{label, xt::xarray<double>{9, 7, 4, 4, 9}};  // sample 3 is infeasible
    for (const bool time_major : {false, true}) {
        CAPTURE(time_major);
        const Shape shape = time_major ? Shape{9, 5, 5} : Shape{5, 9, 5};
        const xt::xarray<T> x = test::random_normal<T>(shape, 21, activation_stddev);
        const std::string layout = time_major ? "TNC" : "NTC";
        const CtcRun<T> fused = run_ctc<T>(x, args, options_of(CtcImplementation::Fused, layout));
        const CtcRun<T> composed = run_ctc<T>(x, args, options_of(CtcImplementation::Composed, layout));
        CHECK(xt::allclose(fused.loss, composed.loss, tolerance<T>(), tolerance<T>()));
        CHECK(xt::allclose(fused.grad, composed.grad, tolerance<T>(), tolerance<T>()));
        CHECK(fused.loss(3) == 0);
    }
}

TEST_CASE_TEMPLATE("Hessian-vector products: the fused gradient node agrees with the composed recursion", T, float,
                   double) {
    // Lengths, an empty label, a repeat and an infeasible sample (3), both layouts;
    // the loss squared, so that the gradient reaching ctc_nll depends on pred.
    const xt::xarray<double> label = {{0, 1, 1, 3, -1}, {2, 2, 2, -1, -1}, {-1, -1, -1, -1, -1},
                                      {3, 0, 3, 0, 1},  {1, 2, -1, -1, -1}};
    const CtcArgs args{label, xt::xarray<double>{9, 7, 4, 4, 9}};
    for (const bool time_major : {false, true}) {
        CAPTURE(time_major);
        const Shape shape = time_major ? Shape{9, 5, 5} : Shape{5, 9, 5};
        const xt::xarray<T> x = test::random_normal<T>(shape, 25, activation_stddev);
        const xt::xarray<T> v = test::random_normal<T>(shape, 26, 1.0);
        const std::string layout = time_major ? "TNC" : "NTC";
        const auto hv = [&](CtcImplementation impl) {
            return hvp<T>([&](const Var<T>& pred) {
                Tape<T>& tape = pred.tape();
                const Var<T> loss = CTCLoss<T>(options_of(impl, layout))(
                    pred, tape.constant(xt::xarray<T>(xt::cast<T>(args.label))),
                    tape.constant(xt::xarray<T>(xt::cast<T>(*args.pred_lengths))));
                return loss * loss;
            }, x, v);
        };
        // The first-order comparison's tolerances: float's H v here differs by up to 9e-6 at values near 15,
        // double's by 2e-14.
        CHECK(xt::allclose(hv(CtcImplementation::Fused), hv(CtcImplementation::Composed), tolerance<T>(),
                           tolerance<T>()));
    }
}

TEST_CASE("float agrees with double") {
    const xt::xarray<double> x = test::random_normal<double>({3, 12, 6}, 23, activation_stddev);
    const CtcArgs args{{{0, 4, 4, 1}, {2, -1, -1, -1}, {3, 1, 0, 2}}, xt::xarray<double>{12, 10, 12}};
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const CtcRun<double> d = run_ctc<double>(x, args, options_of(impl));
        const CtcRun<float> f = run_ctc<float>(xt::cast<float>(x), args, options_of(impl));
        CHECK(xt::allclose(xt::cast<double>(f.loss), d.loss, 1e-5, 1e-6));
        CHECK(xt::allclose(xt::cast<double>(f.grad), d.grad, 1e-5, 1e-6));
    }
}

TEST_CASE("a 6000-class alphabet: both implementations agree") {
    const xt::xarray<double> x = test::random_normal<double>({2, 8, 6000}, 29, activation_stddev);
    const CtcArgs args{{{5998, 17, 17, -1}, {4000, 3, 2999, 12}}};
    const CtcRun<double> fused = run_ctc<double>(x, args, options_of(CtcImplementation::Fused));
    const CtcRun<double> composed = run_ctc<double>(x, args, options_of(CtcImplementation::Composed));
    CHECK(xt::allclose(fused.loss, composed.loss, 1e-10, 1e-10));
    CHECK(xt::allclose(fused.grad, composed.grad, 1e-10, 1e-12));
}

TEST_CASE("2000 frames stay finite in float and double, and agree") {
    const std::size_t frames = 2000;
    xt::xarray<double> label = xt::empty<double>({2, 40});
    for (std::size_t j = 0; j < 40; ++j) {
        label(0, j) = static_cast<double>(j % 4);
        label(1, j) = static_cast<double>((j / 2) % 4);  // pairs of repeats
    }
    const CtcArgs args{label, xt::xarray<double>{2000, 1500}};
    const xt::xarray<double> x = test::random_normal<double>({2, frames, 5}, 31, activation_stddev);
    std::vector<CtcRun<double>> doubles;
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const CtcRun<double> d = run_ctc<double>(x, args, options_of(impl));
        const CtcRun<float> f = run_ctc<float>(xt::cast<float>(x), args, options_of(impl));
        CHECK(xt::all(xt::isfinite(d.loss)));
        CHECK(xt::all(xt::isfinite(d.grad)));
        CHECK(xt::all(xt::isfinite(f.loss)));
        CHECK(xt::all(xt::isfinite(f.grad)));
        CHECK(d.loss(0) > 1000);  // thousands of nats: a probability far below double's range
        CHECK(xt::allclose(xt::cast<double>(f.loss), d.loss, 1e-5, 0.0));
        doubles.push_back(d);
        // The fused op runs its recursions in double, so its float gradient is as
        // good as at short lengths. The composed one keeps float log-alphas near
        // -3700, whose rounding (~2e-4 each) limits its gradient to ~5e-3: not compared.
        if (impl == CtcImplementation::Fused) CHECK(xt::allclose(xt::cast<double>(f.grad), d.grad, 1e-5, 1e-6));
    }
    CHECK(xt::allclose(doubles[0].loss, doubles[1].loss, 1e-12, 0.0));
    CHECK(xt::allclose(doubles[0].grad, doubles[1].grad, 1e-8, 1e-10));
}

TEST_CASE_TEMPLATE("saturated activations give a finite loss and gradient; NaN in a used frame propagates", T, float, double) {
    xt::xarray<T> pred = T(1e4) * xt::sign(test::random_normal<T>({2, 5, 4}, 41, activation_stddev));
    const CtcArgs args{{{0, 1, 1}, {2, -1, -1}}};
    for (const CtcImplementation impl : implementations) {
        CAPTURE(std::string(name_of(impl)));
        const CtcRun<T> run = run_ctc<T>(pred, args, options_of(impl));
        CHECK(xt::all(xt::isfinite(run.loss)));
        CHECK(xt::all(xt::isfinite(run.grad)));
        xt::xarray<T> poisoned = pred;
        poisoned(1, 2, 0) = std::numeric_limits<T>::quiet_NaN();
        const CtcRun<T> nan = run_ctc<T>(poisoned, args, options_of(impl));
        CHECK(std::isfinite(nan.loss(0)));
        CHECK(std::isnan(nan.loss(1)));
    }
}

TEST_CASE("sample_weight and weight scale each sample's loss") {
    const xt::xarray<double> x = test::random_normal<double>({2, 4, 3}, 37, activation_stddev);
    const CtcArgs plain{{{0, 1}, {1, -1}}};
    CtcArgs weighted = plain;
    weighted.sample_weight = xt::xarray<double>{0.5, 3.0};
    CTCLossOptions options;
    options.weight = 2.0;
    const CtcRun<double> a = run_ctc<double>(x, plain, {});
    const CtcRun<double> b = run_ctc<double>(x, weighted, options);
    CHECK(b.loss(0) == doctest::Approx(a.loss(0) * 1.0));
    CHECK(b.loss(1) == doctest::Approx(a.loss(1) * 6.0));
}

TEST_CASE("CTCLoss repr is Gluon's, with batch_axis from the label layout") {
    CHECK(CTCLoss<float>().repr() == "CTCLoss(batch_axis=0, w=None, layout=NTC, label_layout=NT, blank_label=last)");
    CTCLossOptions options = options_of(CtcImplementation::Fused, "TNC", "TN");
    options.weight = 0.5;
    CHECK(CTCLoss<double>(options).repr() == "CTCLoss(batch_axis=1, w=0.5, layout=TNC, label_layout=TN, blank_label=last)");
    CHECK(CTCLoss<double>().options().implementation == CtcImplementation::Fused);
}

TEST_CASE("every bad input of the spec is an error naming CTCLoss") {
    const xt::xarray<double> pred = xt::zeros<double>({2, 4, 4});  // C = 4: the blank is 3
    const xt::xarray<double> good = {{0, 1}, {2, -1}};
    // Returns the message, after checking the type of the error.
    const auto fails = [&](const xt::xarray<double>& p, const CtcArgs& args, auto error, CTCLossOptions options = {}) {
        using Error = decltype(error);
        std::string message;
        for (const CtcImplementation impl : implementations) {
            options.implementation = impl;
            CHECK_THROWS_AS(run_ctc<double>(p, args, options), Error);
            message = message_of([&] { run_ctc<double>(p, args, options); });
            CHECK_MESSAGE(message.find("CTCLoss") != std::string::npos, message);
        }
        return message;
    };
    SUBCASE("layouts") {
        CHECK_THROWS_AS(CTCLoss<double>(options_of(CtcImplementation::Fused, "NCT")), ValueError);
        CHECK(message_of([] { CTCLoss<double>(options_of(CtcImplementation::Fused, "NCT")); }).find("NCT") !=
              std::string::npos);
        CHECK_THROWS_AS(CTCLoss<double>(options_of(CtcImplementation::Fused, "NTC", "NC")), ValueError);
    }
    SUBCASE("a label equal to the blank, out of range, or not a whole number") {
        CHECK(fails(pred, {{{0, 3}, {2, -1}}}, ValueError{""}).find("3 at [0, 1]") != std::string::npos);
        CHECK(fails(pred, {{{0, 4}, {2, -1}}}, ValueError{""}).find("4 at [0, 1]") != std::string::npos);
        CHECK(fails(pred, {{{0, 1}, {-2, -1}}}, ValueError{""}).find("-2 at [1, 0]") != std::string::npos);
        CHECK(fails(pred, {{{0, 1.5}, {2, -1}}}, ValueError{""}).find("1.5 at [0, 1]") != std::string::npos);
        CHECK(fails(pred, {{{0, 1}, {NAN, -1}}}, ValueError{""}).find("nan at [1, 0]") != std::string::npos);
        // In label layout TN the position is reported in the label's own axes.
        CHECK(fails(pred, {{{0, 2}, {3, -1}}}, ValueError{""}, options_of(CtcImplementation::Fused, "NTC", "TN"))
                  .find("3 at [1, 0]") != std::string::npos);
        // With label_lengths, -1 inside the used part is not padding.
        fails(pred, {{{0, 1}, {-1, 2}}, std::nullopt, xt::xarray<double>{2, 1}}, ValueError{""});
    }
    SUBCASE("lengths that are not whole numbers in [0, T] and [0, L]") {
        CHECK(fails(pred, {good, xt::xarray<double>{4, 2.5}}, ValueError{""}).find("pred_lengths value 2.5 at [1]") !=
              std::string::npos);
        fails(pred, {good, xt::xarray<double>{5, 2}}, ValueError{""});
        fails(pred, {good, xt::xarray<double>{-1, 2}}, ValueError{""});
        CHECK(fails(pred, {good, std::nullopt, xt::xarray<double>{3, 1}}, ValueError{""}).find("label_lengths") !=
              std::string::npos);
        fails(pred, {good, std::nullopt, xt::xarray<double>{1, -1}}, ValueError{""});
        fails(pred, {good, std::nullopt, xt::xarray<double>{1, 0.5}}, ValueError{""});
    }
    SUBCASE("L > T") {
        CHECK(fails(pred, {xt::zeros<double>({2, 5})}, ShapeError{""}).find("(2, 5)") != std::string::npos);
    }
    SUBCASE("shape mismatches") {
        CHECK(fails(xt::zeros<double>({2, 4}), {good}, ShapeError{""}).find("pred of shape (2, 4)") != std::string::npos);
        CHECK(fails(pred, {xt::xarray<double>{0, 1}}, ShapeError{""}).find("label of shape (2,)") != std::string::npos);
        CHECK(fails(pred, {xt::zeros<double>({3, 2})}, ShapeError{""}).find("(3, 2)") != std::string::npos);
        CHECK(fails(pred, {good, xt::xarray<double>{4, 4, 4}}, ShapeError{""}).find("pred_lengths of shape (3,)") !=
              std::string::npos);
        fails(pred, {good, std::nullopt, xt::xarray<double>{{1, 1}}}, ShapeError{""});
        CHECK(fails(pred, {good, std::nullopt, std::nullopt, xt::xarray<double>{1, 2, 3}}, ShapeError{""})
                  .find("sample_weight of shape (3,)") != std::string::npos);
        fails(xt::zeros<double>({2, 4, 0}), {xt::zeros<double>({2, 0})}, ShapeError{""});
    }
}

TEST_CASE("CTCLoss through the registry: samples are valid, gradcheck and float vs double over its option grid") {
    const LossInfo& info = find_loss("ctcloss");
    CHECK(info.name == "CTCLoss");
    CHECK(info.repr({{"layout", "TNC"}, {"label_layout", "TN"}}) ==
          "CTCLoss(batch_axis=1, w=None, layout=TNC, label_layout=TN, blank_label=last)");
    std::uint64_t seed = 3;
    for (const OptionMap& options : xtape::test::option_grid(info)) {
        for (const Shape& shape : info.check_shapes) {
            const ArrayMap<double> sample = info.sample(options, shape, ++seed);
            for (const bool optionals : {false, true}) {
                INFO(info.repr(options), " pred ", to_string(shape), optionals ? " with" : " without", " optionals");
                // pred and sample_weight are the leaves; labels and lengths are constants.
                const auto apply = [&]<class T>(Tape<T>& tape, const Var<T>& pred, std::optional<Var<T>> weight) {
                    InputMap<T> in{{"pred", pred}};
                    for (const auto& [name, value] : sample) {
                        const bool optional_input = name != "pred" && name != "label";
                        if (name == "pred" || name == "sample_weight" || (optional_input && !optionals)) continue;
                        in.emplace(name, tape.constant(xt::xarray<T>(xt::cast<T>(value))));
                    }
                    if (weight) in.emplace("sample_weight", *weight);
                    return info.apply<T>(options, in);
                };
                const GradcheckFunction f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
                    return apply(tape, in[0], optionals ? std::optional<Var<double>>(in[1]) : std::nullopt);
                };
                std::vector<GradcheckInput> leaves = {{"pred", sample.at("pred")}};
                if (optionals) leaves.push_back({"sample_weight", sample.at("sample_weight")});
                const GradcheckResult r = gradcheck(f, leaves);
                CHECK_MESSAGE(r.passed, to_string(r));
                // Sampled labels are feasible, so every sample has a positive loss.
                Tape<double> dtape;
                Tape<float> ftape;
                const xt::xarray<double> d =
                    apply(dtape, dtape.leaf(sample.at("pred")), std::optional<Var<double>>()).value();
                const xt::xarray<float> fl =
                    apply(ftape, ftape.leaf(xt::cast<float>(sample.at("pred"))), std::optional<Var<float>>()).value();
                CHECK(xt::all(d > 0.0));
                CHECK(xt::allclose(xt::cast<double>(fl), d, 1e-5, 0.0));
            }
        }
    }
}
