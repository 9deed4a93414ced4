// The fused CTC op's two routes: the scaled probability-domain recursion and its log-space fallback.
#include <doctest/doctest.h>

#include <random>

#include <xtensor/xview.hpp>

#include "xtape/losses/ctc_loss.hpp"

using namespace xtape;

namespace {

// Normal activations of the given spread.
xt::xarray<double> normal_activations(const Shape& shape, double spread, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, spread);
    xt::xarray<double> x = xt::empty<double>(shape);
    for (auto& v : x) v = normal(rng);
    return x;
}

// CTCLoss (NTC, NT, with pred_lengths) on a fresh tape: the loss and d(sum of the loss)/d(pred).
struct Run {
    xt::xarray<double> loss;
    xt::xarray<double> grad;
};

Run run(const xt::xarray<double>& pred, const xt::xarray<double>& label, const xt::xarray<double>& lengths,
        CtcImplementation implementation) {
    Tape<double> tape;
    CTCLossOptions options;
    options.implementation = implementation;
    const Var<double> x = tape.leaf(pred);
    const Var<double> loss = CTCLoss<double>(options)(x, tape.constant(label), tape.constant(lengths));
    tape.backward(loss, xt::ones<double>(loss.shape()));
    return {loss.value(), x.grad()};
}

// Random labels of `length` classes in [0, C-2] for each of `batch` samples.
xt::xarray<double> random_labels(std::size_t batch, std::size_t length, std::size_t classes, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> pick(0, static_cast<int>(classes) - 2);
    xt::xarray<double> label = xt::empty<double>({batch, length});
    for (auto& v : label) v = pick(rng);
    return label;
}

}  // namespace

TEST_CASE("fused CTC at the benchmark's small size agrees with the composed one in double") {
    // T=50, N=16, C=20, L=10, some samples shorter: all take the scaled route.
    const xt::xarray<double> x = normal_activations({16, 50, 20}, 1.5, 3);
    const xt::xarray<double> label = random_labels(16, 10, 20, 4);
    xt::xarray<double> lengths = xt::empty<double>({16});
    for (std::size_t n = 0; n < 16; ++n) lengths(n) = static_cast<double>(30 + n);
    const Run fused = run(x, label, lengths, CtcImplementation::Fused);
    const Run composed = run(x, label, lengths, CtcImplementation::Composed);
    CHECK(xt::allclose(fused.loss, composed.loss, 1e-12, 0.0));
    CHECK(xt::allclose(fused.grad, composed.grad, 1e-10, 1e-12));
}

TEST_CASE("a sample whose scaled recursion underflows takes the log-space route; its neighbours are unaffected") {
    // Sample 1 spreads its activations over thousands of nats, so most emission
    // probabilities are below double's range: only log space gets it right.
    xt::xarray<double> x = normal_activations({3, 12, 5}, 1.5, 5);
    xt::view(x, 1) *= 600.0;
    const xt::xarray<double> label = {{0, 1, 1, 3}, {2, 0, 3, 1}, {3, 3, 0, 2}};
    const xt::xarray<double> lengths = {12, 12, 10};
    const Run fused = run(x, label, lengths, CtcImplementation::Fused);
    const Run composed = run(x, label, lengths, CtcImplementation::Composed);
    CHECK(fused.loss(1) > 700);  // a probability below double's range
    CHECK(xt::all(xt::isfinite(fused.grad)));
    CHECK(xt::allclose(fused.loss, composed.loss, 1e-12, 0.0));
    CHECK(xt::allclose(fused.grad, composed.grad, 1e-10, 1e-12));
}

TEST_CASE("paths unlikely at first and likely at the end are kept, however unlikely") {
    // Frames 0-2 favour the labels 0, 1, 2 by `boost` nats, the middle ones the
    // blank, the last three the labels again: the paths that emit the labels at the
    // end are as likely as those that emit them first, yet midway their states hold
    // a share of alpha of about exp(-3 boost): 1e-78 (kept by the scaled recursion)
    // or 1e-391 (below double's range, so the sample takes the log-space route).
    const std::size_t frames = 40;
    for (const double boost : {60.0, 300.0}) {
        CAPTURE(boost);
        xt::xarray<double> x = normal_activations({1, frames, 4}, 0.5, 6);
        for (std::size_t t = 0; t < frames; ++t) {
            const std::size_t favoured = t < 3 ? t : (t >= frames - 3 ? t - (frames - 3) : 3);
            x(0, t, favoured) += boost;
        }
        const xt::xarray<double> label = {{0, 1, 2}};
        const xt::xarray<double> lengths = {static_cast<double>(frames)};
        const Run fused = run(x, label, lengths, CtcImplementation::Fused);
        const Run composed = run(x, label, lengths, CtcImplementation::Composed);
        CHECK(fused.loss(0) > 2 * boost);  // far below double's range at 300
        CHECK(xt::allclose(fused.loss, composed.loss, 1e-12, 0.0));
        CHECK(xt::allclose(fused.grad, composed.grad, 1e-10, 1e-12));
    }
}
